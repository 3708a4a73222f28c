"""Single sign-on in the domain layer: the agent an identity signs in as (created at
its first sign-in when allowed), its roles following its groups at the identity
provider, and the administrator's mappings of those groups to roles.

Every change is written to the administration log (``actions.admin.record``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from helpline.actions import admin
from helpline.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from helpline.models import IdpGroupMapping, Role


@dataclass(frozen=True)
class Identity:
    """What a validated ID token says about the person signing in."""

    login: str
    email: str = ""
    name: str = ""
    groups: frozenset[str] = field(default_factory=frozenset)
    # The provider's amr/acr named a method counted as a second factor.
    second_factor: bool = False


def map_idp_group(idp_group: str, role: Role, *, actor: Any = None) -> IdpGroupMapping:
    idp_group = idp_group.strip()
    if not idp_group:
        raise InvalidInput("An identity-provider group needs a name.")
    if IdpGroupMapping.objects.filter(idp_group=idp_group, role=role).exists():
        raise Conflict(f"The group {idp_group!r} is mapped to {role.name!r} already.")
    with transaction.atomic():
        mapping = IdpGroupMapping.objects.create(idp_group=idp_group, role=role)
        admin.record(
            actor, "created", mapping, after={"idp_group": idp_group, "role": role.name}
        )
    return mapping


def unmap_idp_group(idp_group: str, role: Role, *, actor: Any = None) -> None:
    mapping = IdpGroupMapping.objects.filter(idp_group=idp_group, role=role).first()
    if mapping is None:
        raise NotFound(f"The group {idp_group!r} is not mapped to {role.name!r}.")
    with transaction.atomic():
        admin.record(
            actor,
            "deleted",
            mapping,
            before={"idp_group": idp_group, "role": role.name},
        )
        mapping.delete()


def sync_idp_groups(agent: Any, groups: frozenset[str]) -> tuple[list[str], list[str]]:
    """Make the agent a member of exactly the mapped roles its groups give; roles that
    no mapping names stay as the administrators set them.  Returns the names of the
    roles added and removed."""
    given: set[int] = set()
    mapped: dict[int, Role] = {}
    for mapping in IdpGroupMapping.objects.select_related("role"):
        mapped[mapping.role_id] = mapping.role
        if mapping.idp_group in groups:
            given.add(mapping.role_id)
    held = set(agent.helpline_roles.filter(pk__in=mapped).values_list("pk", flat=True))
    added, removed = [], []
    for role_id in sorted(given - held):
        admin.add_role_member(mapped[role_id], agent)
        added.append(mapped[role_id].name)
    for role_id in sorted(held - given):
        admin.remove_role_member(mapped[role_id], agent)
        removed.append(mapped[role_id].name)
    return added, removed


def _follow_provider(agent: Any, identity: Identity) -> None:
    """The provider keeps the agent's name and address: copied at every sign-in (a
    claim the provider leaves out changes nothing)."""
    changed = []
    if identity.email and agent.email != identity.email:
        agent.email = identity.email
        changed.append("email")
    if identity.name.strip():
        first, _sep, last = identity.name.strip().partition(" ")
        if (agent.first_name, agent.last_name) != (first[:150], last[:150]):
            agent.first_name, agent.last_name = first[:150], last[:150]
            changed += ["first_name", "last_name"]
    if changed:
        agent.save(update_fields=changed)


def sign_in_identity(identity: Identity) -> Any:
    """The agent ``identity`` signs in as, with its mapped roles brought up to date.

    An existing agent with the same login is that person (the provider is trusted for
    its logins), except a break-glass login.  Raises ``PermissionDenied`` for an
    unknown login when agents are not created at their first sign-in, for a
    break-glass login and for a switched-off agent."""
    login = identity.login.strip()
    if not login:
        raise PermissionDenied("The identity provider named no login for you.")
    if login in settings.HELPLINE_BREAKGLASS_LOGINS:
        # A local emergency account: whoever holds that name at the provider must
        # not become it.
        raise PermissionDenied("This login signs in with its password only.")
    user_model = get_user_model()
    with transaction.atomic():
        agent = user_model.objects.filter(username=login).first()
        if agent is None:
            if not settings.HELPLINE_OIDC_CREATE_AGENTS:
                raise PermissionDenied(
                    "There is no Helpline agent for your login; ask an administrator."
                )
            first, _sep, last = identity.name.strip().partition(" ")
            agent = admin.create_agent(
                login,
                email=identity.email or f"{login}@sso.invalid",
                first_name=first[:150],
                last_name=last[:150],
            )
        if not agent.is_active:
            raise PermissionDenied("Your Helpline agent account is switched off.")
        _follow_provider(agent, identity)
        if settings.HELPLINE_OIDC_GROUPS_CLAIM:
            sync_idp_groups(agent, identity.groups)
    return agent
