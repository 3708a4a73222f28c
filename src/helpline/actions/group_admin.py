"""Groups and roles in Helpline's own administration screens (docs/administration.md
"Groups and roles"): lists, creating, renaming, switching off and on, and a role's
members.

Thin wrappers, for site administrators only (``permission_admin.is_permission_admin``,
like the queue screens), around ``helpline.actions.admin``: every change is in the
administration log, and what a change withdraws (a group or a role switched off, an
agent taken out of a role) is withdrawn by the receivers of
``helpline.actions.withdrawal`` and returned, to be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Model, QuerySet

from helpline.actions import admin as admin_actions
from helpline.actions import permission_admin as pa
from helpline.actions.withdrawal import Withdrawn, collecting
from helpline.errors import Conflict, InvalidInput, NotFound
from helpline.models import Grant, Group, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

PER_PAGE = 50
NAME_LENGTH = 200  # Group.name and Role.name
# At most this many members are listed on a role's page.
MAX_MEMBERS = 500

T = TypeVar("T", bound=Model)


@dataclass
class Page(Generic[T]):
    rows: list[T]
    number: int
    pages: int
    total: int


def _page(found: QuerySet[T], page: int, per_page: int) -> Page[T]:
    total = found.count()
    pages = max(1, -(-total // per_page))
    if page < 1 or page > pages:
        raise InvalidInput(f"There is no page {page}; pages 1 to {pages}.")
    start = (page - 1) * per_page
    return Page(list(found[start : start + per_page]), page, pages, total)


def _check_name(model: type[Group] | type[Role], name: str, pk: int | None) -> str:
    name = name.strip()
    label = model._meta.verbose_name
    if not name:
        raise InvalidInput(f"A {label} needs a name.")
    if len(name) > NAME_LENGTH:
        raise InvalidInput(f"A name has at most {NAME_LENGTH} characters.")
    others = model.objects.exclude(pk=pk) if pk is not None else model.objects.all()
    if others.filter(name=name).exists():
        raise Conflict(f"A {label} {name!r} exists already.")
    return name


def _save(
    actor: Agent, obj: Group | Role, *, name: str, comment: str, valid: bool
) -> list[Withdrawn]:
    """Save the changed fields through ``admin.save_configuration`` (audited; the
    withdrawal receivers run on the save of ``valid``)."""
    new = {"name": name, "comment": comment, "valid": valid}
    changed = [f for f, value in new.items() if getattr(obj, f) != value]
    for f, value in new.items():
        setattr(obj, f, value)
    with transaction.atomic(), collecting() as withdrawn:
        admin_actions.save_configuration(actor, obj, changed=changed)
    return withdrawn


# --- groups ------------------------------------------------------------------------


def list_groups(
    actor: Agent | None, *, query: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Page[Group]:
    """A page of groups by name, each with ``queue_count`` and ``grant_count``, in a
    fixed number of queries."""
    pa.require_permission_admin(actor)
    found = Group.objects.annotate(
        queue_count=Count("queues", distinct=True),
        grant_count=Count("grants", distinct=True),
    ).order_by("name")
    if query.strip():
        found = found.filter(name__icontains=query.strip())
    return _page(found, page, per_page)


def get_group_for(actor: Agent | None, group_id: int) -> Group:
    pa.require_permission_admin(actor)
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound("No such group.")
    return group


def create_group_for(actor: Agent | None, *, name: str, comment: str = "") -> Group:
    pa.require_permission_admin(actor)
    name = _check_name(Group, name, None)
    return admin_actions.create_group(name, comment=comment.strip(), actor=actor)


def save_group(
    actor: Agent, group_id: int, *, name: str, comment: str, valid: bool
) -> list[Withdrawn]:
    """Rename a group, change its comment, switch it off or on; returns what
    switching it off withdrew from the agents of its queues."""
    group = get_group_for(actor, group_id)
    name = _check_name(Group, name, group.pk)
    return _save(actor, group, name=name, comment=comment.strip(), valid=valid)


# --- roles -------------------------------------------------------------------------


def list_roles(
    actor: Agent | None, *, query: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Page[Role]:
    """A page of roles by name, each with ``member_count`` and ``grant_count``."""
    pa.require_permission_admin(actor)
    found = Role.objects.annotate(
        member_count=Count("members", distinct=True),
        grant_count=Count("grants", distinct=True),
    ).order_by("name")
    if query.strip():
        found = found.filter(name__icontains=query.strip())
    return _page(found, page, per_page)


def get_role_for(actor: Agent | None, role_id: int) -> Role:
    pa.require_permission_admin(actor)
    role = Role.objects.filter(pk=role_id).first()
    if role is None:
        raise NotFound("No such role.")
    return role


def create_role_for(actor: Agent | None, *, name: str, comment: str = "") -> Role:
    pa.require_permission_admin(actor)
    name = _check_name(Role, name, None)
    return admin_actions.create_role(name, comment=comment.strip(), actor=actor)


def save_role(
    actor: Agent, role_id: int, *, name: str, comment: str, valid: bool
) -> list[Withdrawn]:
    """Rename a role, change its comment, switch it off or on; returns what
    switching it off withdrew from its members."""
    role = get_role_for(actor, role_id)
    name = _check_name(Role, name, role.pk)
    return _save(actor, role, name=name, comment=comment.strip(), valid=valid)


def role_members(actor: Agent | None, role: Role) -> list[Any]:
    pa.require_permission_admin(actor)
    return list(role.members.order_by("username")[:MAX_MEMBERS])


def role_grants(actor: Agent | None, role: Role) -> list[Grant]:
    """The role's grants, by group and permission."""
    pa.require_permission_admin(actor)
    return list(
        Grant.objects.filter(role=role)
        .select_related("group")
        .order_by("group__name", "permission")
    )


def add_member(actor: Agent, role_id: int, login: str) -> Any:
    """Put the agent with this login into the role (audited)."""
    role = get_role_for(actor, role_id)
    login = login.strip()
    if not login:
        raise InvalidInput("Give the login of an agent.")
    agent = get_user_model().objects.filter(username=login).first()
    if agent is None:
        raise NotFound(f"No agent with login {login!r}.")
    if role.members.filter(pk=agent.pk).exists():
        raise Conflict(f"{login} is a member of this role already.")
    admin_actions.add_role_member(role, agent, actor=actor)
    return agent


def remove_member(actor: Agent, role_id: int, agent_id: int) -> list[Withdrawn]:
    """Take an agent out of the role (audited); returns what the agent lost."""
    role = get_role_for(actor, role_id)
    agent = role.members.filter(pk=agent_id).first()
    if agent is None:
        raise NotFound("That agent is not a member of this role.")
    return admin_actions.remove_role_member(role, agent, actor=actor)
