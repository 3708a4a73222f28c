"""Service levels: keeping each ticket's due times and escalation time true, and
warning agents before and at escalation (docs/service-levels.md).

The due times follow from the ticket's timeline (its state changes in the history,
its articles) through ``sla.clocks``; they are recomputed, a batch of tickets in a
fixed number of queries, after every transaction that changed tickets
(``events.on_tickets_changed``: creation, articles, state changes, moves), and for a
queue's open tickets when its service level (or that level's calendar) changes.
Configuration changes are checked here and written to the administration log;
``actions.escalations`` recomputes and notifies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import transaction

from helpline.actions import admin as admin_actions
from helpline.actions.access import access_ticket
from helpline.actions.escalations import (
    business_calendar,
    recompute,
    recompute_queues,
)
from helpline.actions.history import record
from helpline.errors import Conflict, InvalidInput, NotFound
from helpline.models import (
    Calendar,
    HistoryType,
    Permission,
    Queue,
    ServiceLevel,
    Ticket,
    TicketServiceLevel,
)
from helpline.sla.calendar import CalendarError, parse_hours, time_zone

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any


def get_calendar(name: str) -> Calendar:
    found = Calendar.objects.filter(name=name).first()
    if found is None:
        raise NotFound(f"No calendar named {name!r}.")
    return found


def get_service_level(name: str) -> ServiceLevel:
    found = ServiceLevel.objects.select_related("calendar").filter(name=name).first()
    if found is None:
        raise NotFound(f"No service level named {name!r}.")
    return found


def _dates(days: Iterable[str]) -> list[str]:
    out = []
    for day in days:
        try:
            out.append(date.fromisoformat(day.strip()).isoformat())
        except ValueError:
            raise InvalidInput(f"{day!r} is not a date like 2026-12-24.") from None
    return sorted(set(out))


CALENDAR_FIELDS = ("time_zone", "hours", "country", "subdivision", "extra_holidays")


def save_calendar(
    actor: Agent | None,
    name: str,
    *,
    time_zone_name: str | None = None,
    hours: str | None = None,
    country: str | None = None,
    subdivision: str | None = None,
    extra_holidays: Sequence[str] | None = None,
) -> Calendar:
    """Create the calendar ``name`` or change what is given (None: unchanged); the
    open tickets of the queues it serves are recomputed after the commit."""
    name = name.strip()
    if not name:
        raise InvalidInput("A calendar needs a name.")
    with transaction.atomic():
        calendar = Calendar.objects.select_for_update().filter(name=name).first()
        created = calendar is None
        if calendar is None:
            if hours is None:
                raise InvalidInput("A new calendar needs working hours.")
            calendar = Calendar(name=name)
        before = admin_actions.summary(calendar, CALENDAR_FIELDS)
        try:
            if time_zone_name is not None:
                calendar.time_zone = time_zone(time_zone_name.strip()).key
            if hours is not None:
                calendar.hours = parse_hours(hours)
        except CalendarError as error:
            raise InvalidInput(str(error)) from None
        if country is not None:
            calendar.country = country.strip().upper()
        if subdivision is not None:
            calendar.subdivision = subdivision.strip().upper()
        if extra_holidays is not None:
            calendar.extra_holidays = _dates(extra_holidays)
        if calendar.subdivision and not calendar.country:
            raise InvalidInput("A region needs its country.")
        business_calendar(calendar)  # the holiday library knows country and region
        calendar.save()
        admin_actions.record(
            actor,
            "created" if created else "changed",
            calendar,
            object_type="calendar",
            before=None if created else before,
            after=admin_actions.summary(calendar, CALENDAR_FIELDS),
        )
        if not created:
            _recompute_queues_later(
                Queue.objects.filter(service_level__calendar=calendar)
            )
    return calendar


LEVEL_FIELDS = (
    "calendar",
    "first_response_minutes",
    "update_minutes",
    "solution_minutes",
    "warning_minutes",
)
UNSET = -1  # "no such target" from the CLI (``--update none``)


@dataclass(frozen=True)
class LevelChange:
    """What to set on a service level; None: unchanged, ``UNSET``: no target."""

    calendar: str | None = None
    first_response: int | None = None
    update: int | None = None
    solution: int | None = None
    warning: int | None = None


def _minutes(value: int, what: str) -> int | None:
    if value == UNSET:
        return None
    if value < 0 or value > 10_000_000:
        raise InvalidInput(f"The {what} must be a number of minutes (0 or more).")
    return value


def save_service_level(
    actor: Agent | None, name: str, change: LevelChange
) -> ServiceLevel:
    """Create the service level ``name`` or change it; the open tickets it applies
    to are recomputed after the commit."""
    name = name.strip()
    if not name:
        raise InvalidInput("A service level needs a name.")
    with transaction.atomic():
        level = ServiceLevel.objects.select_for_update().filter(name=name).first()
        created = level is None
        if level is None:
            if change.calendar is None:
                raise InvalidInput("A new service level needs a calendar.")
            level = ServiceLevel(name=name)
        before = admin_actions.summary(level, LEVEL_FIELDS) if not created else None
        if change.calendar is not None:
            level.calendar = get_calendar(change.calendar)
        for attr, field in (
            ("first_response", "first_response_minutes"),
            ("update", "update_minutes"),
            ("solution", "solution_minutes"),
        ):
            value = getattr(change, attr)
            if value is not None:
                setattr(level, field, _minutes(value, attr.replace("_", " ")))
        if change.warning is not None:
            level.warning_minutes = _minutes(change.warning, "warning") or 0
        level.save()
        admin_actions.record(
            actor,
            "created" if created else "changed",
            level,
            before=before,
            after=admin_actions.summary(level, LEVEL_FIELDS),
        )
        if not created:
            _recompute_levels_later([level.pk])
    return level


def delete_service_level(actor: Agent | None, name: str) -> None:
    with transaction.atomic():
        level = get_service_level(name)
        in_use = Queue.objects.filter(service_level=level).exists() or (
            TicketServiceLevel.objects.filter(service_level=level).exists()
        )
        if in_use:
            raise Conflict(f"Service level {name!r} is in use by queues or tickets.")
        admin_actions.record(actor, "deleted", level)
        level.delete()


def delete_calendar(actor: Agent | None, name: str) -> None:
    with transaction.atomic():
        calendar = get_calendar(name)
        if calendar.service_levels.exists():
            raise Conflict(f"Calendar {name!r} is used by service levels.")
        admin_actions.record(actor, "deleted", calendar, object_type="calendar")
        calendar.delete()


def set_queue_service_level(
    actor: Agent | None, queue: Queue, level: ServiceLevel | None
) -> None:
    """The queue's tickets follow ``level`` (None: no service level)."""
    with transaction.atomic():
        locked = Queue.objects.select_for_update().get(pk=queue.pk)
        before = str(locked.service_level or "")
        Queue.objects.filter(pk=queue.pk).update(service_level=level)
        queue.service_level = level
        admin_actions.record(
            actor,
            "changed",
            queue,
            before={"service_level": before},
            after={"service_level": str(level or "")},
        )
        _recompute_queues_later(Queue.objects.filter(pk=queue.pk))


def set_ticket_service_level(
    actor: Agent, ticket_id: int, level: ServiceLevel | None
) -> Ticket:
    """Give one ticket its own service level (None: its queue's again); needs rw."""
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        row, _ = TicketServiceLevel.objects.get_or_create(ticket=ticket)
        if row.service_level_id != (level.pk if level else None):
            row.service_level = level
            row.save(update_fields=["service_level"])
            record(ticket, HistoryType.SERVICE_LEVEL, actor, new=str(level or ""))
        ids = [ticket.pk]
        transaction.on_commit(lambda: recompute(ids))
    return ticket


def _recompute_queues_later(queues: Any) -> None:
    queue_ids = list(queues.values_list("pk", flat=True))
    transaction.on_commit(lambda: recompute_queues(queue_ids))


def _recompute_levels_later(level_ids: list[int]) -> None:
    def run() -> None:
        recompute_queues(
            list(
                Queue.objects.filter(service_level_id__in=level_ids).values_list(
                    "pk", flat=True
                )
            )
        )
        recompute(
            list(
                TicketServiceLevel.objects.filter(
                    service_level_id__in=level_ids
                ).values_list("ticket_id", flat=True)
            )
        )

    transaction.on_commit(run)
