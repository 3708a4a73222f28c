"""Escalation times of tickets, recomputed after changes, and the notices they bring.

``recompute(ids)`` reads what the clocks need for a batch of tickets in a fixed
number of queries (the tickets, their service-level rows, the service levels with
their calendars, the state changes, the articles, the states' types), computes
``sla.clocks`` for each, and writes the due times back in one statement per table.
It is subscribed to ``events.on_tickets_changed``: every transaction that changed
tickets (created, article added, state set, moved, merged) has them recomputed after
its commit.  The ticket rows are locked while they are written, so of two
recomputations of one ticket the later one reads and writes last.

``send_escalation_notices`` is the worker's periodic job: each clock period of a
ticket is warned of once (``warning_minutes`` business minutes before) and escalated
once, through the agents' notifications (``Event.ESCALATION_WARNING`` and
``Event.ESCALATION``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from helpline.actions import events
from helpline.errors import InvalidInput
from helpline.models import (
    Article,
    Calendar,
    HistoryEntry,
    HistoryType,
    SenderType,
    ServiceLevel,
    StateType,
    Ticket,
    TicketServiceLevel,
    TicketState,
)
from helpline.sla.calendar import BusinessCalendar, CalendarError, Holidays
from helpline.sla.clocks import (
    Clock,
    ClockState,
    Contact,
    Dues,
    Targets,
    Timeline,
    compute,
)

log = logging.getLogger(__name__)
BATCH = 500
DUE_FIELDS = ["first_response_due", "update_due", "solution_due", "escalation_at"]


def business_calendar(calendar: Calendar) -> BusinessCalendar:
    """The calendar as the clocks use it (its holidays computed on first use)."""
    try:
        extra = [date.fromisoformat(day) for day in calendar.extra_holidays]
        return BusinessCalendar.build(
            time_zone_name=calendar.time_zone,
            hours=calendar.hours,
            holidays=Holidays(calendar.country, calendar.subdivision, extra),
        )
    except (CalendarError, ValueError, TypeError) as error:
        raise InvalidInput(f"Calendar {calendar.name}: {error}") from None


def targets_of(level: ServiceLevel) -> Targets:
    return Targets(
        first_response=level.first_response_minutes,
        update=level.update_minutes,
        solution=level.solution_minutes,
    )


def _timelines(tickets: Sequence[Ticket]) -> dict[int, Timeline]:
    """Each ticket's state changes and contacts: three queries for the batch."""
    ids = [t.pk for t in tickets]
    state_types = dict(TicketState.objects.values_list("name", "type"))
    changes: dict[int, list[tuple[datetime, dict[str, Any]]]] = {}
    for tid, created, data in (
        HistoryEntry.objects.filter(ticket_id__in=ids, type=HistoryType.STATE)
        .order_by("ticket_id", "created", "id")
        .values_list("ticket_id", "created", "data")
    ):
        changes.setdefault(tid, []).append((created, data or {}))
    contacts: dict[int, list[tuple[datetime, Contact]]] = {}
    for tid, created, sender in (
        Article.objects.filter(ticket_id__in=ids)
        .filter(
            Q(sender_type=SenderType.CUSTOMER)
            | Q(sender_type=SenderType.AGENT, visible_to_customer=True)
        )
        .order_by("ticket_id", "created", "id")
        .values_list("ticket_id", "created", "sender_type")
    ):
        kind = Contact.CUSTOMER if sender == SenderType.CUSTOMER else Contact.REPLY
        contacts.setdefault(tid, []).append((created, kind))
    out = {}
    for ticket in tickets:
        entries = changes.get(ticket.pk, [])
        first = state_types.get(str(entries[0][1].get("old", ""))) if entries else None
        states = [(ticket.created, first or ticket.state_type)]
        for moment, data in entries:
            state = state_types.get(str(data.get("new", "")))
            if state is not None:
                states.append((moment, state))
        if states[-1][1] != ticket.state_type:  # a change without a state entry
            states.append((ticket.changed, ticket.state_type))
        out[ticket.pk] = Timeline(
            created=ticket.created,
            states=states,
            contacts=contacts.get(ticket.pk, []),
        )
    return out


def _levels(level_ids: set[int]) -> dict[int, tuple[ServiceLevel, BusinessCalendar]]:
    out = {}
    for level in ServiceLevel.objects.select_related("calendar").filter(
        pk__in=level_ids
    ):
        try:
            out[level.pk] = (level, business_calendar(level.calendar))
        except InvalidInput:
            log.exception("service level %s has an unusable calendar", level.name)
    return out


def recompute(ticket_ids: Sequence[int]) -> int:
    """Recompute the due times of these tickets; how many changed."""
    changed = 0
    ids = sorted(set(ticket_ids))
    for start in range(0, len(ids), BATCH):
        changed += _recompute_batch(ids[start : start + BATCH])
    return changed


def _recompute_batch(ids: list[int]) -> int:
    with transaction.atomic():
        tickets = list(
            Ticket.objects.filter(pk__in=ids)
            .filter(
                Q(queue__service_level__isnull=False)
                | Q(service_level_state__isnull=False)
                | Q(escalation_at__isnull=False)
                | Q(solution_due__isnull=False)
            )
            .select_for_update(of=("self",))
            .select_related("queue")
            .order_by("pk")
            .only(
                "pk",
                "created",
                "changed",
                "state_type",
                "queue__service_level",
                *DUE_FIELDS,
            )
        )
        if not tickets:
            return 0
        rows = {
            row.ticket_id: row
            for row in TicketServiceLevel.objects.filter(
                ticket_id__in=[t.pk for t in tickets]
            )
        }

        def level_id(ticket: Ticket) -> int | None:
            row = rows.get(ticket.pk)
            if row is not None and row.service_level_id is not None:
                return row.service_level_id
            return ticket.queue.service_level_id

        levels = _levels({i for t in tickets if (i := level_id(t)) is not None})
        under = [t for t in tickets if level_id(t) in levels]
        timelines = _timelines(under)
        dirty: list[Ticket] = []
        new_rows: list[TicketServiceLevel] = []
        for ticket in tickets:
            lid = level_id(ticket)
            dues = Dues()
            warning = 0
            if lid in levels:
                level, calendar = levels[lid]
                warning = level.warning_minutes
                dues = compute(calendar, targets_of(level), timelines[ticket.pk])
            values = [
                dues.due(Clock.FIRST_RESPONSE),
                dues.due(Clock.UPDATE),
                dues.due(Clock.SOLUTION),
                dues.escalation,
            ]
            if [getattr(ticket, f) for f in DUE_FIELDS] != values:
                for name, value in zip(DUE_FIELDS, values, strict=True):
                    setattr(ticket, name, value)
                dirty.append(ticket)
            row = rows.get(ticket.pk)
            if row is None and lid in levels:
                row = TicketServiceLevel(ticket_id=ticket.pk)
            if row is not None:
                calendar_of = levels[lid][1] if lid in levels else None
                row.alert_at = _next_alert(row, dues, warning, calendar_of)
                new_rows.append(row)
        _write_dues(dirty)
        if new_rows:
            TicketServiceLevel.objects.bulk_create(
                new_rows,
                update_conflicts=True,
                unique_fields=["ticket"],
                update_fields=["alert_at"],
            )
    return len(dirty)


def _write_dues(tickets: list[Ticket]) -> None:
    """The due times of a batch in one UPDATE from a list of values.  Django's
    ``bulk_update`` builds a CASE per row and column, which took 1.5 s of Python for
    500 tickets (bench/sla.py); this takes milliseconds.  Only names from the model
    are put into the SQL; every value is a parameter."""
    if not tickets:
        return
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    names = ["id", *DUE_FIELDS]
    postgres = connection.vendor == "postgresql"
    sets = ", ".join(
        f"{quote(f)} = CAST(v.{quote(f)} AS timestamp with time zone)"
        if postgres
        else f"{quote(f)} = v.{quote(f)}"
        for f in DUE_FIELDS
    )
    params: list[Any] = []
    for ticket in tickets:
        params.append(ticket.pk)
        params.extend(
            connection.ops.adapt_datetimefield_value(getattr(ticket, f))
            for f in DUE_FIELDS
        )
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    table = quote(Ticket._meta.db_table)
    sql = (
        f"WITH v ({', '.join(quote(n) for n in names)}) AS "  # noqa: S608
        f"(VALUES {', '.join([row] * len(tickets))}) "
        f"UPDATE {table} SET {sets} FROM v WHERE {table}.{quote('id')} = v.{quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _key(clock: ClockState) -> str:
    return f"{clock.clock}@{clock.start.isoformat()}"


def _warn_at(
    clock: ClockState, warning: int, calendar: BusinessCalendar | None
) -> datetime | None:
    """When agents are warned of this clock: ``warning`` business minutes before its
    due time (the start of the period, if that is later)."""
    if clock.due is None or warning <= 0 or calendar is None:
        return None
    left = calendar.between(clock.start, clock.due) - timedelta(minutes=warning)
    if left <= timedelta(0):
        return clock.start
    return calendar.add(clock.start, left)


def _next_alert(
    row: TicketServiceLevel,
    dues: Dues,
    warning: int,
    calendar: BusinessCalendar | None,
) -> datetime | None:
    moments = []
    for clock in dues.clocks:
        if clock.due is None or _key(clock) in row.escalated:
            continue
        warn = _warn_at(clock, warning, calendar)
        if warn is not None and _key(clock) not in row.warned:
            moments.append(min(warn, clock.due))
        else:
            moments.append(clock.due)
    return min(moments) if moments else None


def recompute_changed(ticket_ids: list[int]) -> None:
    """The ``events.on_tickets_changed`` subscriber.  A failure is logged, not raised:
    the change itself is committed, ``helpline sla recompute`` repairs."""
    try:
        recompute(ticket_ids)
    except Exception:
        log.exception("could not recompute the escalation times of %s", ticket_ids)


def register() -> None:
    """Recompute tickets after every change (``HelplineConfig.ready``; idempotent)."""
    if recompute_changed not in events.on_tickets_changed:
        events.on_tickets_changed.append(recompute_changed)


def recompute_queues(queue_ids: Sequence[int]) -> int:
    """Recompute the open tickets of these queues (and those still showing due times),
    a batch at a time; returns how many were looked at."""
    tickets = Ticket.objects.filter(queue_id__in=queue_ids).filter(
        Q(state_type__in=StateType.open_types()) | Q(escalation_at__isnull=False)
    )
    done, last = 0, 0
    while page := list(
        tickets.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH]
    ):
        recompute(page)
        done += len(page)
        last = page[-1]
    return done


def send_escalation_notices(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Warn of and escalate the clocks whose moment has come, each period once; the
    number of notices announced.  One transaction per ticket, its row locked (and
    skipped when another worker holds it)."""
    now = now or timezone.now()
    sent = 0
    due = list(
        TicketServiceLevel.objects.filter(alert_at__lte=now)
        .order_by("alert_at")
        .values_list("ticket_id", flat=True)[:limit]
    )
    for ticket_id in due:
        with transaction.atomic():
            row = (
                TicketServiceLevel.objects.select_for_update(skip_locked=True)
                .filter(ticket_id=ticket_id, alert_at__lte=now)
                .first()
            )
            if row is None:
                continue
            sent += _notify(row, now)
    return sent


def _notify(row: TicketServiceLevel, now: datetime) -> int:
    ticket = Ticket.objects.select_related("queue").get(pk=row.ticket_id)
    level_id = row.service_level_id or ticket.queue.service_level_id
    levels = _levels({level_id} if level_id else set())
    if level_id not in levels:
        row.alert_at = None
        row.save(update_fields=["alert_at"])
        return 0
    level, calendar = levels[level_id]
    dues = compute(calendar, targets_of(level), _timelines([ticket])[ticket.pk])
    sent = 0
    for clock in dues.clocks:
        key = _key(clock)
        if clock.due is None or key in row.escalated:
            continue
        if clock.due <= now:
            row.escalated = [*row.escalated, key]
            row.warned = sorted({*row.warned, key})
            events.announce(events.Event.ESCALATION, ticket.pk)
            sent += 1
            continue
        warn = _warn_at(clock, level.warning_minutes, calendar)
        if warn is not None and warn <= now and key not in row.warned:
            row.warned = [*row.warned, key]
            events.announce(events.Event.ESCALATION_WARNING, ticket.pk)
            sent += 1
    # Periods that ended (answered, closed) are never due again: forget them.
    current = {_key(clock) for clock in dues.clocks}
    row.warned = [key for key in row.warned if key in current]
    row.escalated = [key for key in row.escalated if key in current]
    row.alert_at = _next_alert(row, dues, level.warning_minutes, calendar)
    row.save(update_fields=["warned", "escalated", "alert_at"])
    return sent
