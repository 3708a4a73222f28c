"""Creating tickets and changing their fields: queue, state, priority, title, archive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from helpline.actions.access import access_ticket, may, require_in_queue
from helpline.actions.articles import (
    NewArticle,
    article_entry,
    do_add_article,
    store_article,
)
from helpline.actions.customers import get_or_create_customer
from helpline.actions.events import Event, announce_on_commit, ticket_changed
from helpline.actions.history import entry, record, record_all, touch
from helpline.actions.locks import (
    claim,
    do_lock_to,
    do_unlock,
    ensure_not_locked_by_other,
    require_rw_and_claim,
)
from helpline.actions.withdrawal import withdraw_lost_access
from helpline.errors import InvalidInput, NotFound
from helpline.models import (
    Article,
    HistoryEntry,
    HistoryType,
    Permission,
    Priority,
    Queue,
    StateType,
    Ticket,
    TicketState,
    TicketWatcher,
)
from helpline.numbers import next_ticket_number


def get_state(name: str) -> TicketState:
    state = TicketState.objects.filter(name=name, valid=True).first()
    if state is None:
        raise NotFound(f"No valid state named {name!r}.")
    return state


def _check_priority(priority: int) -> int:
    if priority not in Priority.values:
        raise InvalidInput(f"Priority must be 1 to 5, not {priority!r}.")
    return priority


def do_create_ticket(
    actor: Any | None,
    *,
    queue: Queue,
    title: str,
    article: NewArticle | None,
    customer_email: str = "",
    customer_name: str = "",
    priority: int = Priority.NORMAL,
    state: str | TicketState = "new",
    owner: Any | None = None,
) -> tuple[Ticket, Article | None]:
    """Create a ticket with its first article; no permission check (mail, jobs).

    ``article`` is None only for callers that add the first article themselves (a new
    outgoing email ticket stores the email it sends).  ``state`` is a state's name, or
    the (valid) state itself when the caller has it at hand.
    """
    _check_priority(priority)
    state_row = new_ticket_state(state)
    # No savepoint inside a caller's transaction: a failure here fails that one too.
    with transaction.atomic(savepoint=False):
        customer = get_or_create_customer(customer_email, customer_name)
        # The number last: its counter row stays locked until the commit.
        ticket = new_ticket_row(
            title=title,
            queue=queue,
            state=state_row,
            priority=priority,
            owner=owner,
            customer=customer,
        )
        ticket.save(force_insert=True)
        # The first article: the ticket was written just now, no need to touch it.
        first = store_article(actor, ticket, article) if article is not None else None
        record_all(creation_entries(actor, ticket, first))
        ticket_changed(ticket.pk)
        return ticket, first


def new_ticket_state(state: str | TicketState) -> TicketState:
    """The state a new ticket is created in (a name, or the state itself)."""
    state_row = get_state(state) if isinstance(state, str) else state
    if state_row.type in (StateType.MERGED, StateType.REMOVED):
        raise InvalidInput(f"A new ticket cannot be in state {state_row.name!r}.")
    return state_row


def new_ticket_row(
    *,
    title: str,
    queue: Queue,
    state: TicketState,
    priority: int,
    owner: Any | None,
    customer: Any | None,
) -> Ticket:
    """The ticket as ``do_create_ticket`` writes it, not saved yet; its number is
    drawn here (for writers of many at once too: ``tickets_bulk``)."""
    now = timezone.now()
    return Ticket(
        number=next_ticket_number(now),
        title=" ".join(title.split())[:255] or "(no subject)",
        queue=queue,
        state=state,
        state_type=state.type,
        priority=priority,
        owner=owner,
        customer=customer,
        created=now,
        changed=now,
        closed_at=now if state.type == StateType.CLOSED else None,
    )


def creation_entries(
    actor: Any | None, ticket: Ticket, first: Article | None
) -> list[HistoryEntry]:
    """The history of a new ticket: created (queue, state, priority), first article."""
    entries = [
        entry(
            ticket,
            HistoryType.CREATED,
            actor,
            queue=ticket.queue.name,
            state=ticket.state.name,
            priority=ticket.priority,
        )
    ]
    if first is not None:
        entries.append(article_entry(actor, ticket, first))
    return entries


def create_ticket(
    actor: Any,
    *,
    queue: Queue,
    title: str,
    article: NewArticle,
    customer_email: str = "",
    customer_name: str = "",
    priority: int = Priority.NORMAL,
    state: str = "new",
) -> tuple[Ticket, Article | None]:
    """Create a ticket as an agent (phone call, new email, note): needs ``create``."""
    if not queue.valid:
        raise InvalidInput(f"Queue {queue.name} is not valid.")
    require_in_queue(actor, queue, Permission.CREATE)
    with transaction.atomic():
        return do_create_ticket(
            actor,
            queue=queue,
            title=title,
            article=article,
            customer_email=customer_email,
            customer_name=customer_name,
            priority=priority,
            state=state,
        )


PENDING_HORIZON_YEARS = 100


def _checked_pending_time(value: datetime) -> datetime:
    """The pending time in UTC, or a clear error when it cannot be one.

    Python accepts offsets up to a day and any year from 1 to 9999; the databases
    do not (PostgreSQL refuses offsets beyond 15:59), and a reminder centuries away
    is a typing error, not a plan. Storing UTC keeps every backend equal.
    """
    if timezone.is_naive(value):
        raise InvalidInput("The pending time needs a time zone.")
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput("The pending time is out of range.") from None
    now = timezone.now()
    if abs(utc.year - now.year) > PENDING_HORIZON_YEARS:
        raise InvalidInput(
            f"The pending time must lie within {PENDING_HORIZON_YEARS} years of today."
        )
    return utc


def do_set_state(
    actor: Any | None,
    ticket: Ticket,
    state: TicketState,
    *,
    pending_until: datetime | None = None,
) -> None:
    """Change the state of a (row-locked) ticket with what the change implies."""
    if state.type in StateType.pending_types():
        if pending_until is None:
            raise InvalidInput(f"State {state.name!r} needs a pending time.")
        pending_until = _checked_pending_time(pending_until)
    elif pending_until is not None:
        raise InvalidInput(f"State {state.name!r} takes no pending time.")
    old = ticket.state
    fields = ["state", "state_type", "pending_until"]
    ticket.state = state
    ticket.state_type = state.type
    ticket.pending_until = pending_until
    if state.type == StateType.CLOSED:
        ticket.closed_at = timezone.now()
        fields.append("closed_at")
    elif state.is_open and ticket.closed_at is not None:
        ticket.closed_at = None
        fields.append("closed_at")
    if state.is_open and ticket.archived:
        ticket.archived = False
        fields.append("archived")
        record(ticket, HistoryType.UNARCHIVED, actor, reason="reopened")
    touch(ticket, *fields)
    record(ticket, HistoryType.STATE, actor, old=old.name, new=state.name)
    if pending_until is not None:
        record(ticket, HistoryType.PENDING_TIME, actor, until=pending_until.isoformat())
    if state.type == StateType.CLOSED:
        do_unlock(actor, ticket, reason="closed")


def set_state(
    actor: Any,
    ticket_id: int,
    state_name: str,
    *,
    pending_until: datetime | None = None,
) -> Ticket:
    state = get_state(state_name)
    if state.type in (StateType.MERGED, StateType.REMOVED):
        raise InvalidInput(
            f"Use merge to set {state.name!r}."
            if state.type == StateType.MERGED
            else f"{state.name!r} cannot be set here."
        )
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        require_rw_and_claim(actor, ticket)
        do_set_state(actor, ticket, state, pending_until=pending_until)
        return ticket


def close_ticket(
    actor: Any, ticket_id: int, *, note: str, state_name: str = "closed successful"
) -> Ticket:
    """Close with a note that says why (BEHAVIOUR.md s. 7: the note is required)."""
    if not note.strip():
        raise InvalidInput("Closing a ticket needs a note that says why.")
    state = get_state(state_name)
    if state.type != StateType.CLOSED:
        raise InvalidInput(f"{state_name!r} is not a closed state.")
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        require_rw_and_claim(actor, ticket)
        do_add_article(actor, ticket, NewArticle(body_text=note, subject="Close"))
        do_set_state(actor, ticket, state)
        return ticket


def set_priority(actor: Any, ticket_id: int, priority: int) -> Ticket:
    _check_priority(priority)
    with transaction.atomic():
        ticket = access_ticket(
            actor, ticket_id, need=Permission.PRIORITY, for_update=True
        )
        claim(actor, ticket)
        do_set_priority(actor, ticket, priority)
        return ticket


def do_set_priority(actor: Any | None, ticket: Ticket, priority: int) -> None:
    """Set the priority of a (row-locked) ticket."""
    _check_priority(priority)
    if ticket.priority != priority:
        old = ticket.priority
        ticket.priority = priority
        touch(ticket, "priority")
        record(ticket, HistoryType.PRIORITY, actor, old=old, new=priority)


def do_set_priorities(
    actor: Any | None, tickets: list[Ticket], priority: int
) -> list[Ticket]:
    """``do_set_priority`` for many (row-locked) tickets at once: one ``UPDATE`` and
    one ``INSERT`` of their history entries, however many (automation jobs' batches).
    The tickets changed: those not at ``priority`` already."""
    _check_priority(priority)
    changing = [t for t in tickets if t.priority != priority]
    if not changing:
        return []
    now = timezone.now()
    entries = []
    for ticket in changing:
        old = ticket.priority
        ticket.priority, ticket.changed = priority, now
        ticket.version += 1
        entries.append(
            entry(ticket, HistoryType.PRIORITY, actor, old=old, new=priority)
        )
    Ticket.objects.filter(pk__in=[t.pk for t in changing]).update(
        priority=priority, changed=now, version=F("version") + 1
    )
    record_all(entries)
    for ticket in changing:
        ticket_changed(ticket.pk)
    return changing


def set_title(actor: Any, ticket_id: int, title: str) -> Ticket:
    title = " ".join(title.split())[:255]
    if not title:
        raise InvalidInput("A ticket needs a title.")
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        require_rw_and_claim(actor, ticket)
        old, ticket.title = ticket.title, title
        touch(ticket, "title")
        record(ticket, HistoryType.TITLE, actor, old=old, new=title)
        return ticket


def set_customer(actor: Any, ticket_id: int, email: str, name: str = "") -> Ticket:
    customer = get_or_create_customer(email, name)
    if customer is None:
        raise InvalidInput("A customer needs an email address.")
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        require_rw_and_claim(actor, ticket)
        old = ticket.customer.email if ticket.customer else ""
        ticket.customer = customer
        touch(ticket, "customer")
        record(ticket, HistoryType.CUSTOMER, actor, old=old, new=customer.email)
        return ticket


def do_move(actor: Any | None, ticket: Ticket, queue: Queue) -> None:
    if ticket.queue_id == queue.pk:
        return
    old = ticket.queue
    ticket.queue = queue
    touch(ticket, "queue")
    record(ticket, HistoryType.MOVED, actor, old=old.name, new=queue.name)
    do_unlock(actor, ticket, reason="moved")
    # Owner, responsible and watchers who cannot read the new queue drop out.
    if withdraw_lost_access(ticket_ids=[ticket.pk], actor=actor, reason="moved"):
        ticket.refresh_from_db(fields=["owner", "responsible", "version", "changed"])
    announce_on_commit(Event.MOVED, ticket.pk, actor=actor)


def move_ticket(
    actor: Any, ticket_id: int, queue: Queue, *, take: bool = False
) -> Ticket:
    """Move to another queue: ``move_into`` on both queues; the ticket is unlocked.

    Moving is triage, not taking the work: the owner stays who it was (unless the
    new queue takes their access away).  ``take`` makes the mover the owner, with the
    lock, which needs 'rw' on the new queue; all or nothing.
    """
    if not queue.valid:
        raise InvalidInput(f"Queue {queue.name} is not valid.")
    require_in_queue(actor, queue, Permission.MOVE_INTO)
    with transaction.atomic():
        ticket = access_ticket(
            actor, ticket_id, need=Permission.MOVE_INTO, for_update=True
        )
        ensure_not_locked_by_other(actor, ticket)
        do_move(actor, ticket, queue)
        if take:
            if not may(actor, ticket, Permission.RW):
                raise InvalidInput(
                    f"You cannot take ticket {ticket.number}: taking it needs 'rw' "
                    f"on queue {queue.name}."
                )
            do_lock_to(actor, ticket, actor)
        return ticket


def do_archive(actor: Any | None, ticket: Ticket) -> None:
    if ticket.archived:
        return
    if ticket.is_open:
        raise InvalidInput(f"Ticket {ticket.number} is open; only closed ones archive.")
    ticket.archived = True
    touch(ticket, "archived")
    # OTRS: archiving ends watching.
    TicketWatcher.objects.filter(ticket=ticket).delete()
    record(ticket, HistoryType.ARCHIVED, actor)


def archive_ticket(actor: Any, ticket_id: int) -> Ticket:
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        do_archive(actor, ticket)
        return ticket


def unarchive_ticket(actor: Any, ticket_id: int) -> Ticket:
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        if ticket.archived:
            ticket.archived = False
            touch(ticket, "archived")
            record(ticket, HistoryType.UNARCHIVED, actor)
        return ticket


def watch_ticket(actor: Any, ticket_id: int) -> Ticket:
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RO)
        _, created = TicketWatcher.objects.get_or_create(ticket=ticket, agent=actor)
        if created:
            record(ticket, HistoryType.WATCH, actor)
            ticket_changed(ticket.pk)  # the index records who may see it
        return ticket


def unwatch_ticket(actor: Any, ticket_id: int) -> Ticket:
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RO)
        if TicketWatcher.objects.filter(ticket=ticket, agent=actor).delete()[0]:
            record(ticket, HistoryType.UNWATCH, actor)
            ticket_changed(ticket.pk)  # the index records who may see it
        return ticket
