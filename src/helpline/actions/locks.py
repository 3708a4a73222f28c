"""Lock, unlock, owner and responsible: who works on a ticket (BEHAVIOUR.md s. 3)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from helpline.actions.access import access_ticket, may, may_in_queue, require
from helpline.actions.events import Event, announce_on_commit
from helpline.actions.history import record, touch
from helpline.actions.out_of_office import assignee
from helpline.errors import InvalidInput, TicketLocked
from helpline.models import HistoryType, Permission, Ticket


def _name(agent: Any) -> str:
    return agent.get_username() if agent is not None else "nobody"


def ensure_not_locked_by_other(actor: Any, ticket: Ticket) -> None:
    """Refuse when another agent holds the lock, unless ``actor`` may override it."""
    if (
        ticket.locked
        and ticket.owner_id is not None
        and ticket.owner_id != actor.pk
        and not may(actor, ticket, Permission.OVERRIDE_LOCK)
    ):
        raise TicketLocked(
            f"Ticket {ticket.number} is locked by {_name(ticket.owner)}; "
            "ask them to unlock it, or ask a lead who may override locks."
        )


def claim(actor: Any | None, ticket: Ticket) -> None:
    """Before an action that changes a ticket's course: refuse if another agent holds
    the lock; lock it to ``actor`` (who becomes owner) if it is unlocked."""
    if actor is None:
        return
    ensure_not_locked_by_other(actor, ticket)
    if not ticket.locked:
        do_lock_to(actor, ticket, actor)


def do_lock_to(actor: Any | None, ticket: Ticket, agent: Any) -> None:
    """Lock to ``agent``, who becomes owner; the caller checked that ``agent`` may
    read the ticket (owning gives no access: docs/permissions.md)."""
    old_owner = ticket.owner
    ticket.locked = True
    ticket.locked_at = timezone.now()
    ticket.owner = agent
    touch(ticket, "locked", "locked_at", "owner")
    record(ticket, HistoryType.LOCKED, actor, owner=agent.get_username())
    if old_owner != agent:
        record(
            ticket,
            HistoryType.OWNER,
            actor,
            old=_name(old_owner),
            new=agent.get_username(),
        )


def do_unlock(actor: Any | None, ticket: Ticket, *, reason: str = "") -> None:
    """Unlock without checks (closing, moving, timeouts)."""
    if not ticket.locked:
        return
    ticket.locked = False
    touch(ticket, "locked")
    record(ticket, HistoryType.UNLOCKED, actor, reason=reason)


def lock_ticket(actor: Any, ticket_id: int) -> Ticket:
    """Lock the ticket to ``actor``, who becomes its owner.

    Of two agents locking at once, one wins and the other gets ``TicketLocked``: the
    ticket row is locked for the transaction, so the second sees the first's lock.
    """
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        if ticket.locked and ticket.owner_id == actor.pk:
            return ticket
        ensure_not_locked_by_other(actor, ticket)
        do_lock_to(actor, ticket, actor)
        return ticket


def unlock_ticket(actor: Any, ticket_id: int) -> Ticket:
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        ensure_not_locked_by_other(actor, ticket)
        do_unlock(actor, ticket)
        return ticket


def set_owner(actor: Any, ticket_id: int, new_owner: Any) -> Ticket:
    """Make ``new_owner`` the owner; a held lock passes to them."""
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.OWNER, for_update=True)
        ensure_not_locked_by_other(actor, ticket)
        if not (
            may_in_queue(new_owner, ticket.queue, Permission.OWNER)
            and may(new_owner, ticket, Permission.RO)
        ):
            raise InvalidInput(
                f"{new_owner.get_username()} may not own tickets in {ticket.queue.name}"
                " (that needs the 'owner' and 'ro' permissions on its group)."
            )
        do_set_owner(actor, ticket, new_owner)
        return ticket


def do_set_owner(actor: Any | None, ticket: Ticket, new_owner: Any) -> None:
    """Make ``new_owner`` the owner of the (row-locked) ticket; the caller checked
    that they may own it.  Assigned by someone else (an agent or a job) to an agent
    who is out of office, the ticket goes to the substitute, and the history says so."""
    new_owner, reason = assignee(actor, ticket, new_owner)
    if ticket.owner_id == new_owner.pk:
        return
    old = ticket.owner
    ticket.owner = new_owner
    touch(ticket, "owner")
    extra: dict[str, Any] = {"reason": reason} if reason else {}
    record(
        ticket,
        HistoryType.OWNER,
        actor,
        old=_name(old),
        new=new_owner.get_username(),
        **extra,
    )
    announce_on_commit(Event.OWNER, ticket.pk, actor=actor)


def set_responsible(actor: Any, ticket_id: int, agent: Any | None) -> Ticket:
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        ensure_not_locked_by_other(actor, ticket)
        if agent is not None and not may(agent, ticket, Permission.RO):
            raise InvalidInput(
                f"{agent.get_username()} cannot read queue {ticket.queue.name}."
            )
        do_set_responsible(actor, ticket, agent)
        return ticket


def do_set_responsible(actor: Any | None, ticket: Ticket, agent: Any | None) -> None:
    """Make ``agent`` responsible for the (row-locked) ticket; the caller checked
    that they may read it."""
    if ticket.responsible_id == (agent.pk if agent else None):
        return
    old = ticket.responsible
    ticket.responsible = agent
    touch(ticket, "responsible")
    record(ticket, HistoryType.RESPONSIBLE, actor, old=_name(old), new=_name(agent))
    if agent is not None:
        announce_on_commit(Event.RESPONSIBLE, ticket.pk, actor=actor)


def require_rw_and_claim(actor: Any | None, ticket: Ticket) -> None:
    if actor is not None:
        require(actor, ticket, Permission.RW)
    claim(actor, ticket)
