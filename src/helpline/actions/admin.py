"""Administration: queues, system addresses, agents, groups, roles and grants.

Called by the CLI, the administration screens and the demo seeding alike.  Changes to who
may see what are logged on the ``helpline.audit`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from helpline.actions.access import check_registered
from helpline.actions.withdrawal import (
    Revocation,
    Withdrawn,
    collecting,
    role_member_ids,
    withdraw_lost_access,
)
from helpline.errors import Conflict, InvalidInput, NotFound
from helpline.models import (
    AgentProfile,
    FollowUpOption,
    Grant,
    Group,
    Permission,
    Queue,
    Role,
    SystemAddress,
)

audit = logging.getLogger("helpline.audit")


def _unique(model: Any, **lookup: Any) -> None:
    if model.objects.filter(**lookup).exists():
        label = model._meta.verbose_name
        raise Conflict(f"A {label} {next(iter(lookup.values()))!r} exists already.")


def get_group(name: str) -> Group:
    group = Group.objects.filter(name=name).first()
    if group is None:
        raise NotFound(f"No group named {name!r}.")
    return group


def get_queue(name: str) -> Queue:
    queue = Queue.objects.filter(name=name).first()
    if queue is None:
        raise NotFound(f"No queue named {name!r}.")
    return queue


def get_role(name: str) -> Role:
    role = Role.objects.filter(name=name).first()
    if role is None:
        raise NotFound(f"No role named {name!r}.")
    return role


def get_agent(login: str) -> Any:
    user = get_user_model().objects.filter(username=login).first()
    if user is None:
        raise NotFound(f"No agent with login {login!r}.")
    return user


def create_group(name: str, *, comment: str = "") -> Group:
    name = name.strip()
    if not name:
        raise InvalidInput("A group needs a name.")
    _unique(Group, name=name)
    group = Group.objects.create(name=name, comment=comment)
    audit.info("group %s created", name)
    return group


def create_queue(
    name: str,
    *,
    group: Group,
    follow_up: str = FollowUpOption.POSSIBLE,
    follow_up_lock: bool = False,
    unlock_timeout: int = 0,
    comment: str = "",
    email: str = "",
    display_name: str = "",
) -> Queue:
    """Create a queue (``Parent::Child`` names; the parent must exist)."""
    name = "::".join(part.strip() for part in name.split("::"))
    if not name or "" in name.split("::"):
        raise InvalidInput("A queue name needs text on each side of '::'.")
    if follow_up not in FollowUpOption.values:
        raise InvalidInput(f"Follow-up option must be one of {FollowUpOption.values}.")
    _unique(Queue, name=name)
    parent, sep, _ = name.rpartition("::")
    if sep and not Queue.objects.filter(name=parent).exists():
        raise NotFound(f"Create the parent queue {parent!r} first.")
    with transaction.atomic():
        queue = Queue.objects.create(
            name=name,
            group=group,
            follow_up=follow_up,
            follow_up_lock=follow_up_lock,
            unlock_timeout=unlock_timeout,
            comment=comment,
        )
        if email:
            queue.system_address = create_system_address(
                email, queue=queue, display_name=display_name
            )
            queue.save(update_fields=["system_address"])
    audit.info("queue %s created in group %s", name, group.name)
    return queue


def rename_queue(queue: Queue, new_name: str) -> Queue:
    """Rename a queue and, as OTRS does, every queue below it."""
    old = queue.name
    if new_name == old:
        return queue
    _unique(Queue, name=new_name)
    with transaction.atomic():
        children = list(Queue.objects.filter(name__startswith=f"{old}::"))
        queue.name = new_name
        queue.save(update_fields=["name"])
        for child in children:
            child.name = new_name + child.name[len(old) :]
            child.save(update_fields=["name"])
    audit.info("queue %s renamed to %s", old, new_name)
    return queue


def create_system_address(
    email: str, *, queue: Queue, display_name: str = ""
) -> SystemAddress:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(f"{email!r} is not an email address.") from exc
    _unique(SystemAddress, email=email)
    return SystemAddress.objects.create(
        email=email, queue=queue, display_name=display_name
    )


def create_agent(
    login: str,
    *,
    email: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    is_admin: bool = False,
) -> Any:
    """Create an agent; ``is_admin`` opens the administration screens (not the queues)."""
    login = login.strip()
    if not login:
        raise InvalidInput("An agent needs a login.")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(f"{email!r} is not an email address.") from exc
    user_model = get_user_model()
    _unique(user_model, username=login)
    user = user_model(
        username=login,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_admin,
        is_superuser=is_admin,
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages)) from exc
        user.set_password(password)
    with transaction.atomic():
        user.save()
        AgentProfile.objects.create(user=user)
    audit.info("agent %s created (admin=%s)", login, is_admin)
    return user


def create_role(name: str, *, comment: str = "") -> Role:
    name = name.strip()
    if not name:
        raise InvalidInput("A role needs a name.")
    _unique(Role, name=name)
    role = Role.objects.create(name=name, comment=comment)
    audit.info("role %s created", name)
    return role


def add_role_member(role: Role, agent: Any) -> None:
    role.members.add(agent)
    audit.info("agent %s added to role %s", agent.get_username(), role.name)


def remove_role_member(role: Role, agent: Any) -> list[Withdrawn]:
    """Take the agent out of the role; returns what the agent lost on tickets it may
    no longer read (``withdrawal.withdraw_lost_access``)."""
    # The withdrawal follows any change of a role's members (withdrawal.connect).
    with transaction.atomic(), collecting() as withdrawn:
        role.members.remove(agent)
    audit.info("agent %s removed from role %s", agent.get_username(), role.name)
    return withdrawn


def _subject(agent: Any | None, role: Role | None) -> dict[str, Any]:
    if (agent is None) == (role is None):
        raise InvalidInput("Grant to an agent or to a role (exactly one).")
    return {"agent": agent} if agent is not None else {"role": role}


def grant(
    group: Group,
    permissions: Iterable[str],
    *,
    agent: Any | None = None,
    role: Role | None = None,
) -> list[str]:
    """Grant permissions on a group; returns the ones that were new."""
    subject = _subject(agent, role)
    perms = [check_registered(p) for p in permissions]
    added = []
    for perm in perms:
        _, created = Grant.objects.get_or_create(
            group=group, permission=perm, **subject
        )
        if created:
            added.append(perm)
    if added:
        who = agent.get_username() if agent is not None else f"role {role}"
        audit.info("granted %s on group %s to %s", ",".join(added), group.name, who)
    return added


def revoke(
    group: Group,
    permissions: Iterable[str],
    *,
    agent: Any | None = None,
    role: Role | None = None,
) -> Revocation:
    """Revoke permissions on a group.  Whoever can then no longer read the group's
    tickets stops watching them and loses their locks, ownership and responsibility
    (``withdrawal.withdraw_lost_access``): the result lists it."""
    subject = _subject(agent, role)
    perms = [check_registered(p) for p in permissions]
    with transaction.atomic():
        deleted, _ = Grant.objects.filter(
            group=group, permission__in=perms, **subject
        ).delete()
        withdrawn: list[Withdrawn] = []
        if deleted:
            holders = [agent.pk] if agent is not None else role_member_ids(role)
            withdrawn = withdraw_lost_access(
                agent_ids=holders,
                queue_ids=Queue.objects.filter(group=group).values_list(
                    "pk", flat=True
                ),
                reason="access revoked",
            )
    if deleted:
        who = agent.get_username() if agent is not None else f"role {role}"
        audit.info("revoked %s on group %s from %s", ",".join(perms), group.name, who)
    return Revocation(deleted, withdrawn)


ALL_PERMISSIONS = [p.value for p in Permission]
