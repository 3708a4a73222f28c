"""Queues in Helpline's own administration screens (docs/administration.md "Queues"):
the list, one queue with everything about it, creating and changing one.

Only administrators — the holders of the right that opens the permission screens
(``permission_admin.is_permission_admin``) — use these.  Every change goes through
``admin.save_queue`` (the name checked, a rename renaming the queues below, retention
only for holders of ``handle_personal_data``) or
``service_levels.set_queue_service_level``, and so is in the administration log.

A new queue belongs to a group; if its creator may not read that group's queues the
queue would be invisible even to the one who made it.  ``create_queue_for`` therefore
refuses such a group unless asked to give the creator ``rw`` on it (an audited grant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from helpline.actions import admin as admin_actions
from helpline.actions import permission_admin as pa
from helpline.actions import service_levels
from helpline.actions.access import forget_permissions, may_in_queue
from helpline.errors import InvalidInput, NotFound
from helpline.models import (
    FollowUpOption,
    Grant,
    Group,
    Permission,
    Queue,
    Salutation,
    ServiceLevel,
    Signature,
    SystemAddress,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

PER_PAGE = 50
MAX_UNLOCK_TIMEOUT = 100 * 24 * 60  # minutes: a hundred days
# At most this many holders are listed on a queue's page; the group's permission
# page lists them all, paged.
MAX_HOLDERS = 200
# The fields of a queue its page edits; the service level is set apart (its
# tickets' escalation times are recomputed).
QUEUE_FIELDS = (
    "name",
    "group",
    "system_address",
    "salutation",
    "signature",
    "follow_up",
    "follow_up_lock",
    "trust_subject_number",
    "unlock_timeout",
    "junk_queue",
    "public_backlog",
    "retention_days",
    "retention_action",
    "junk",
    "comment",
    "valid",
)


def may_administer_queues(actor: Agent | None) -> bool:
    return pa.is_permission_admin(actor)


def require_queue_admin(actor: Agent | None) -> None:
    pa.require_permission_admin(actor)


@dataclass
class QueuePage:
    rows: list[Queue]
    number: int
    pages: int
    total: int


def list_queues(
    actor: Agent | None, *, query: str = "", page: int = 1, per_page: int = PER_PAGE
) -> QueuePage:
    """A page of queues by name (the hierarchy is the name's ``::`` parts), with
    their group, in a fixed number of queries."""
    require_queue_admin(actor)
    found = Queue.objects.select_related("group").order_by("name")
    if query:
        found = found.filter(name__icontains=query.strip())
    total = found.count()
    pages = max(1, -(-total // per_page))
    if page < 1 or page > pages:
        raise InvalidInput(f"There is no page {page}; pages 1 to {pages}.")
    start = (page - 1) * per_page
    return QueuePage(list(found[start : start + per_page]), page, pages, total)


def get_queue_for(actor: Agent | None, queue_id: int) -> Queue:
    require_queue_admin(actor)
    queue = (
        Queue.objects.select_related(
            "group",
            "system_address",
            "salutation",
            "signature",
            "junk_queue",
            "service_level",
        )
        .filter(pk=queue_id)
        .first()
    )
    if queue is None:
        raise NotFound("No such queue.")
    return queue


@dataclass
class Holder:
    """A direct grant holder on the queue's group: an agent or a role."""

    label: str
    agent_id: int | None
    role_id: int | None
    permissions: list[str] = field(default_factory=list)
    members: int = 0


@dataclass
class QueueReach:
    """Who reaches a queue: the holders of grants on its group."""

    group: Group
    holders: list[Holder]
    more: bool


def queue_reach(actor: Agent | None, queue: Queue) -> QueueReach:
    """The agents and roles holding permissions on the queue's group (one query,
    at most ``MAX_HOLDERS`` holders; an inactive agent or a switched-off role is
    left out, as it reaches nothing)."""
    require_queue_admin(actor)
    grants = (
        Grant.objects.filter(group_id=queue.group_id)
        .filter(
            Q(agent__isnull=False, agent__is_active=True)
            | Q(role__isnull=False, role__valid=True)
        )
        .select_related("agent", "role")
        .annotate(n_members=Count("role__members"))
        .order_by("role__name", "agent__username", "permission")
    )
    holders: dict[tuple[str, int | None], Holder] = {}
    for g in grants:
        key = ("a", g.agent_id) if g.agent_id is not None else ("r", g.role_id)
        if key not in holders:
            if g.agent is not None:
                holders[key] = Holder(g.agent.get_username(), g.agent_id, None)
            elif g.role is not None:
                members: int = getattr(g, "n_members", 0)
                holders[key] = Holder(g.role.name, None, g.role_id, members=members)
            else:  # a grant is to an agent or to a role (database constraint)
                continue
        holders[key].permissions.append(g.permission)
        if len(holders) > MAX_HOLDERS:
            break
    rows = list(holders.values())
    return QueueReach(queue.group, rows[:MAX_HOLDERS], len(rows) > MAX_HOLDERS)


def _check_references(values: dict[str, Any], queue: Queue | None) -> None:
    """Referenced rows exist, and are ones a queue may use."""
    checks: list[tuple[str, QuerySet[Any]]] = [
        ("group", Group.objects.all()),
        ("system_address", SystemAddress.objects.all()),
        ("salutation", Salutation.objects.all()),
        ("signature", Signature.objects.all()),
        ("junk_queue", Queue.objects.all()),
    ]
    for name, rows in checks:
        value = values.get(name)
        if value is not None and not rows.filter(pk=value.pk).exists():
            raise InvalidInput(f"The chosen {name.replace('_', ' ')} does not exist.")
    if values.get("group") is None:
        raise InvalidInput("A queue needs a group.")
    junk = values.get("junk_queue")
    if junk is not None and queue is not None and junk.pk == queue.pk:
        raise InvalidInput("A queue cannot be its own junk queue.")
    if values.get("follow_up") not in FollowUpOption.values:
        raise InvalidInput("Choose one of the follow-up options.")
    timeout = values.get("unlock_timeout") or 0
    if not 0 <= timeout <= MAX_UNLOCK_TIMEOUT:
        raise InvalidInput(
            f"The unlock timeout is 0 (never) to {MAX_UNLOCK_TIMEOUT} minutes."
        )


def save_queue_settings(
    actor: Agent | None,
    queue_id: int,
    values: dict[str, Any],
    *,
    service_level: ServiceLevel | None = None,
    set_service_level: bool = False,
) -> Queue:
    """Change a queue: the ``values`` of ``QUEUE_FIELDS`` given (others are left
    as they are); only fields whose value changes are saved and logged.  The
    service level is set when ``set_service_level``."""
    require_queue_admin(actor)
    with transaction.atomic():
        queue = get_queue_for(actor, queue_id)
        current = {name: getattr(queue, name) for name in QUEUE_FIELDS}
        _check_references({**current, **values}, queue)
        changed = [
            name
            for name in QUEUE_FIELDS
            if name in values and values[name] != current[name]
        ]
        for name in changed:
            setattr(queue, name, values[name])
        if changed:
            admin_actions.save_queue(actor, queue, changed=changed)
        if set_service_level and service_level != queue.service_level:
            service_levels.set_queue_service_level(actor, queue, service_level)
    return queue


def create_queue_for(
    actor: Agent | None,
    values: dict[str, Any],
    *,
    give_creator_rw: bool = False,
    service_level: ServiceLevel | None = None,
) -> Queue:
    """Create a queue from the administration screen.  If the creator may not read
    the chosen group's queues, it is refused — unless ``give_creator_rw``, which
    grants the creator ``rw`` on the group first (audited), so that nobody makes a
    queue they then cannot see."""
    require_queue_admin(actor)
    assert actor is not None  # require_queue_admin refuses None
    _check_references(values, None)
    group: Group = values["group"]
    if not group.valid:
        raise InvalidInput(
            f"Group {group.name} is switched off: nobody would see the new queue."
        )
    probe = Queue(group=group)
    if not may_in_queue(actor, probe, Permission.RO) and not give_creator_rw:
        raise InvalidInput(
            f"You may not read the queues of group {group.name}, so you would "
            "not see this queue: choose a group you read, or let Helpline give "
            "you rw on it."
        )
    with transaction.atomic():
        if not may_in_queue(actor, probe, Permission.RO):
            admin_actions.grant_as(actor, group, [Permission.RW], agent=actor)
            forget_permissions(actor)
        queue = Queue(**{k: v for k, v in values.items() if k in QUEUE_FIELDS})
        given = [name for name in QUEUE_FIELDS if name in values]
        admin_actions.save_queue(actor, queue, changed=given)
        if service_level is not None:
            service_levels.set_queue_service_level(actor, queue, service_level)
    return queue
