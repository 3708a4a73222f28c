"""Withdrawing access withdraws it (docs/permissions.md, "Withdrawing access").

Only a grant opens a ticket; owning it, being responsible for it or watching it gives
no access of its own.  So when an agent can no longer read a ticket's queue — a grant
revoked, a role left or switched off, a group switched off, the agent deactivated, a
queue given to another group, the ticket moved — what the agent held on that ticket
goes too: the agent stops watching it, its lock is released and it is no longer owner
(the ticket has no owner, like a new one) nor responsible.  Each ticket gets a history
entry per change, and the caller gets the list, to show it (CLI, admin).

Set-wise: a few statements whatever the number of tickets (the rows are read and
locked in one query, updated by id in chunks, history written in bulk).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.utils import timezone

from helpline.actions.access import READ
from helpline.actions.history import record_all
from helpline.models import Grant, HistoryEntry, HistoryType, Ticket, TicketWatcher

audit = logging.getLogger("helpline.audit")

CHUNK = 500  # ids per UPDATE / DELETE (SQLite's parameter limit is far above)
NOBODY = "nobody"


@dataclass(frozen=True)
class Withdrawn:
    """What one agent lost on one ticket: some of "owner", "lock", "responsible",
    "watcher"."""

    ticket_id: int
    number: str
    agent: str
    lost: tuple[str, ...]

    def __str__(self) -> str:
        return f"ticket {self.number}: {self.agent} no longer {', '.join(self.lost)}"


def _reads(agent_ref: str, group: str | int) -> Q:
    """The agent named by ``agent_ref`` (a column of the outer query) is active and
    may read ``group`` (an id, or the column of the outer query that holds it):
    ``access.readable_group_ids`` for every row at once."""
    in_group = Q(group_id=OuterRef(group) if isinstance(group, str) else group)
    grants = Grant.objects.filter(
        Q(agent_id=OuterRef(agent_ref))
        | Q(role__members=OuterRef(agent_ref), role__valid=True),
        in_group,
        group__valid=True,
        permission__in=READ,
    )
    active = agent_ref.removesuffix("_id") + "__is_active"
    return Q(**{active: True}) & Q(Exists(grants))


def readers_of(ticket: Ticket, agent_ref: str) -> Q:
    """Rows whose agent (column ``agent_ref``) may read ``ticket``."""
    return _reads(agent_ref, ticket.queue.group_id)


def _flag(q: Q) -> ExpressionWrapper:
    return ExpressionWrapper(q, output_field=BooleanField())


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def withdraw_lost_access(
    *,
    agent_ids: Iterable[int] | None = None,
    queue_ids: Iterable[int] | None = None,
    ticket_ids: Iterable[int] | None = None,
    actor: Any | None = None,
    reason: str = "access withdrawn",
) -> list[Withdrawn]:
    """Take from every agent what it holds on tickets it may no longer read.

    The scope only makes it cheaper: ``agent_ids`` (whose access shrank), ``queue_ids``
    (whose group changed), ``ticket_ids`` (that moved); ``None`` is "all".  Returns
    what was taken, ordered by ticket number and agent.
    """
    agents = None if agent_ids is None else list(agent_ids)
    tickets = Q()
    if queue_ids is not None:
        tickets &= Q(queue_id__in=list(queue_ids))
    if ticket_ids is not None:
        tickets &= Q(pk__in=list(ticket_ids))
    owner_lost = Q(owner__isnull=False) & ~_reads("owner_id", "queue__group_id")
    responsible_lost = Q(responsible__isnull=False) & ~_reads(
        "responsible_id", "queue__group_id"
    )
    if agents is not None:
        owner_lost &= Q(owner_id__in=agents)
        responsible_lost &= Q(responsible_id__in=agents)
    watcher_scope = Q(agent_id__in=agents) if agents is not None else Q()
    with transaction.atomic():
        rows = list(
            Ticket.objects.select_for_update(of=("self",))
            .filter(tickets)
            .filter(owner_lost | responsible_lost)
            .annotate(owner_lost=_flag(owner_lost), resp_lost=_flag(responsible_lost))
            .values_list(
                "pk",
                "number",
                "locked",
                "owner__username",
                "responsible__username",
                "owner_lost",
                "resp_lost",
            )
            .order_by("pk")
        )
        watchers = list(
            TicketWatcher.objects.select_for_update(of=("self",))
            .filter(watcher_scope, ticket__in=Ticket.objects.filter(tickets))
            .exclude(_reads("agent_id", "ticket__queue__group_id"))
            .values_list("pk", "ticket_id", "ticket__number", "agent__username")
            .order_by("ticket_id", "agent__username")
        )
        withdrawn = _apply(rows, watchers, actor=actor, reason=reason)
    for item in withdrawn:
        audit.info("%s (%s)", item, reason)
    collected = _collected.get()
    if collected is not None:
        collected.extend(withdrawn)
    return withdrawn


_collected: ContextVar[list[Withdrawn] | None] = ContextVar(
    "helpline_withdrawn", default=None
)


@contextmanager
def collecting() -> Iterator[list[Withdrawn]]:
    """Everything withdrawn inside the block, by whatever way (a role's members
    edited, a group switched off, ...: the receivers below), in one list, to show
    it: ``with collecting() as withdrawn: form.save()``.  Blocks nest: what an inner
    block collects reaches the outer one too (a screen collects what the actions it
    calls collect for themselves)."""
    outer = _collected.get()
    items: list[Withdrawn] = []
    token = _collected.set(items)
    try:
        yield items
    finally:
        _collected.reset(token)
    if outer is not None:  # not reached when the block failed (and rolled back)
        outer.extend(items)


def _apply(
    rows: list[tuple[Any, ...]],
    watchers: list[tuple[int, int, str, str]],
    *,
    actor: Any | None,
    reason: str,
) -> list[Withdrawn]:
    now = timezone.now()
    report: dict[tuple[int, str], list[str]] = {}
    numbers: dict[int, str] = {}
    history: list[HistoryEntry] = []

    def entry(ticket_id: int, type_: HistoryType, **data: Any) -> None:
        history.append(
            HistoryEntry(
                ticket_id=ticket_id,
                type=type_,
                actor=actor,
                created=now,
                data={**data, "reason": reason},
            )
        )

    owners: list[int] = []
    responsibles: list[int] = []
    for pk, number, locked, owner, responsible, owner_lost, resp_lost in rows:
        numbers[pk] = number
        if owner_lost:
            owners.append(pk)
            lost = report.setdefault((pk, owner), [])
            if locked:
                entry(pk, HistoryType.UNLOCKED)
                lost.append("lock")
            entry(pk, HistoryType.OWNER, old=owner, new=NOBODY)
            lost.append("owner")
        if resp_lost:
            responsibles.append(pk)
            entry(pk, HistoryType.RESPONSIBLE, old=responsible, new=NOBODY)
            report.setdefault((pk, responsible), []).append("responsible")
    for _, ticket_id, number, agent in watchers:
        numbers[ticket_id] = number
        entry(ticket_id, HistoryType.UNWATCH, agent=agent)
        report.setdefault((ticket_id, agent), []).append("watcher")
    bump = {"changed": now, "version": F("version") + 1}
    for chunk in _chunks(owners):
        Ticket.objects.filter(pk__in=chunk).update(owner=None, locked=False, **bump)
    for chunk in _chunks(responsibles):
        Ticket.objects.filter(pk__in=chunk).update(responsible=None, **bump)
    for chunk in _chunks([w[0] for w in watchers]):
        TicketWatcher.objects.filter(pk__in=chunk).delete()
    record_all(history)
    # No reindexing: the search index no longer narrows by owner or watcher
    # (search/postgres.py, ``narrow_to``), so their entries stay right.
    return sorted(
        (
            Withdrawn(ticket_id, numbers[ticket_id], agent, tuple(lost))
            for (ticket_id, agent), lost in report.items()
        ),
        key=lambda w: (w.number, w.agent),
    )


@dataclass(frozen=True)
class Revocation:
    """What ``actions.admin.revoke`` did: the grants removed, and what their
    holders lost on tickets they may no longer read."""

    removed: int
    withdrawn: list[Withdrawn]

    def __bool__(self) -> bool:
        return self.removed > 0


def role_member_ids(role: Any) -> list[int]:
    return list(role.members.values_list("pk", flat=True))


# --- every other way access shrinks ------------------------------------------------
# Switching a role or a group off, deactivating an agent, giving a queue to another
# group and editing a role's members happen on the administration site, by saving
# the model.  These receivers make each of them withdraw what it must, whoever saves;
# the report goes to the audit log, and to the list of ``collecting`` when the
# change is made inside one.
_OLD_GROUP_ATTR = "_helpline_withdrawal_old_group"
_CLEARED_ATTR = "_helpline_withdrawal_cleared"
_DELETED_MEMBERS_ATTR = "_helpline_withdrawal_role_members"


def _saved(update_fields: Any, field: str) -> bool:
    return update_fields is None or field in update_fields


def role_saved(sender: Any, instance: Any, created: bool = False, **kw: Any) -> None:
    if not created and not instance.valid and _saved(kw.get("update_fields"), "valid"):
        withdraw_lost_access(
            agent_ids=role_member_ids(instance), reason="role switched off"
        )


def group_saved(sender: Any, instance: Any, created: bool = False, **kw: Any) -> None:
    if not created and not instance.valid and _saved(kw.get("update_fields"), "valid"):
        withdraw_lost_access(
            queue_ids=instance.queues.values_list("pk", flat=True),
            reason="group switched off",
        )


def agent_saved(sender: Any, instance: Any, created: bool = False, **kw: Any) -> None:
    if (
        not created
        and not instance.is_active
        and _saved(kw.get("update_fields"), "is_active")
    ):
        withdraw_lost_access(agent_ids=[instance.pk], reason="agent deactivated")


def queue_saving(sender: Any, instance: Any, raw: bool = False, **kw: Any) -> None:
    if not raw and instance.pk is not None:
        old = sender.objects.filter(pk=instance.pk).values_list("group_id", flat=True)
        setattr(instance, _OLD_GROUP_ATTR, old.first())


def queue_saved(sender: Any, instance: Any, created: bool = False, **kw: Any) -> None:
    old = getattr(instance, _OLD_GROUP_ATTR, None)
    if not created and old is not None and old != instance.group_id:
        withdraw_lost_access(
            queue_ids=[instance.pk], reason="queue given to another group"
        )


def role_deleting(sender: Any, instance: Any, **kw: Any) -> None:
    """A role about to be deleted: its members, before the cascade takes them."""
    setattr(instance, _DELETED_MEMBERS_ATTR, role_member_ids(instance))


def role_deleted(sender: Any, instance: Any, **kw: Any) -> None:
    """A role deleted (with its grants, by cascade): its members lose what only it
    gave them."""
    agents = getattr(instance, _DELETED_MEMBERS_ATTR, [])
    if agents:
        withdraw_lost_access(agent_ids=agents, reason="role deleted")


def members_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kw: Any,
) -> None:
    """A role's members edited from either side (``role.members``,
    ``agent.helpline_roles``)."""
    if action == "pre_clear":
        agents = [instance.pk] if reverse else role_member_ids(instance)
        setattr(instance, _CLEARED_ATTR, agents)
        return
    if action == "post_clear":
        agents = getattr(instance, _CLEARED_ATTR, [])
    elif action == "post_remove":
        agents = [instance.pk] if reverse else list(pk_set or ())
    else:
        return
    if agents:
        withdraw_lost_access(agent_ids=agents, reason="role left")


def connect() -> None:
    """Called once from ``HelplineConfig.ready``."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import (
        m2m_changed,
        post_delete,
        post_save,
        pre_delete,
        pre_save,
    )

    from helpline.models import Group, Queue, Role

    uid = "helpline.withdrawal"
    post_save.connect(role_saved, sender=Role, dispatch_uid=uid)
    post_save.connect(group_saved, sender=Group, dispatch_uid=uid)
    post_save.connect(agent_saved, sender=get_user_model(), dispatch_uid=uid)
    pre_save.connect(queue_saving, sender=Queue, dispatch_uid=uid)
    post_save.connect(queue_saved, sender=Queue, dispatch_uid=uid)
    m2m_changed.connect(members_changed, sender=Role.members.through, dispatch_uid=uid)
    pre_delete.connect(role_deleting, sender=Role, dispatch_uid=uid)
    post_delete.connect(role_deleted, sender=Role, dispatch_uid=uid)
