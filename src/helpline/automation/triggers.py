"""When a job runs: on a schedule, or after events on tickets.

- ``manual``: only when someone runs it (``helpline job run``, the API);
- ``schedule``: a cron line (minute hour day month weekday, as in crontab(5);
  ``*/30 * * * *``, ``17 3 * * *``), read by the worker every minute
  (``helpline.jobs.automation_job``); a run per matching minute, once across all
  workers (``AutomationRun.slot`` is unique per job).  A minute the worker was down
  is not caught up, as with cron.
- events: the tickets an event happened to since the job last looked, found by a
  cursor over an append-only table in id order — the history (ticket created,
  article added, state changed) or ``AutomationEvent`` (what the domain announces:
  escalation warned and reached, once the service levels announce them).  The
  worker reads events at least ``EVENT_LAG`` old, so that a transaction still
  committing when the cursor passed its entries is not skipped (its entries would
  have lower ids than a later one that committed first).

A trigger is one entry of ``EVENTS``: a new one is a source function and a name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from huey import crontab

from helpline.errors import InvalidInput
from helpline.models import AutomationEvent, AutomationJob, HistoryEntry, HistoryType

SCHEDULE = "schedule"
MANUAL = "manual"
# Events are read once they are this old (see the module docstring).
EVENT_LAG = timedelta(seconds=30)
# Events an event run takes at most; the next minute takes the rest.
EVENT_BATCH = 5000

# (ticket ids, the cursor after them) for the events after ``cursor`` up to ``until``.
Source = Callable[[int, datetime], tuple[list[int], int]]


def _history(*types: str) -> Source:
    def read(cursor: int, until: datetime) -> tuple[list[int], int]:
        rows = list(
            HistoryEntry.objects.filter(
                pk__gt=cursor, type__in=types, created__lte=until
            )
            .order_by("pk")
            .values_list("pk", "ticket_id")[:EVENT_BATCH]
        )
        if not rows:
            return [], cursor
        return sorted({ticket for _, ticket in rows}), rows[-1][0]

    return read


def _announced(*kinds: str) -> Source:
    def read(cursor: int, until: datetime) -> tuple[list[int], int]:
        rows = list(
            AutomationEvent.objects.filter(
                pk__gt=cursor, kind__in=kinds, created__lte=until
            )
            .order_by("pk")
            .values_list("pk", "ticket_id")[:EVENT_BATCH]
        )
        if not rows:
            return [], cursor
        return sorted({ticket for _, ticket in rows}), rows[-1][0]

    return read


@dataclass(frozen=True)
class EventTrigger:
    name: str
    label: str
    source: Source
    # Where its cursor starts for a new job: the newest entry (no past events).
    start: Callable[[], int]


def _newest_history() -> int:
    return int(HistoryEntry.objects.aggregate(m=Max("pk"))["m"] or 0)


def _newest_event() -> int:
    return int(AutomationEvent.objects.aggregate(m=Max("pk"))["m"] or 0)


EVENTS: dict[str, EventTrigger] = {
    t.name: t
    for t in (
        EventTrigger(
            "ticket_created",
            "ticket created",
            _history(HistoryType.CREATED),
            _newest_history,
        ),
        EventTrigger(
            "article_added",
            "article added (note, mail in or out, follow-up)",
            _history(
                HistoryType.ARTICLE,
                HistoryType.FOLLOW_UP,
                HistoryType.EMAIL_SENT,
            ),
            _newest_history,
        ),
        EventTrigger(
            "state_changed",
            "state changed",
            _history(HistoryType.STATE),
            _newest_history,
        ),
        # Announced by the service levels (docs/service-levels.md); recorded by
        # ``record_announced`` as ``AutomationEvent`` rows.
        EventTrigger(
            "escalation_warning",
            "escalation warned",
            _announced("escalation_warning"),
            _newest_event,
        ),
        EventTrigger(
            "escalation", "escalation reached", _announced("escalation"), _newest_event
        ),
    )
}
ANNOUNCED = frozenset({"escalation_warning", "escalation"})
TRIGGERS = (MANUAL, SCHEDULE, *EVENTS)


def cron(line: str) -> Callable[[datetime], bool]:
    """The test of a cron line (5 fields); ``InvalidInput`` when it is not one."""
    fields = line.split()
    if len(fields) != 5:
        raise InvalidInput(
            f"A schedule is a cron line of 5 fields (minute hour day month weekday), "
            f"such as '*/30 * * * *'; not {line!r}."
        )
    try:
        test = crontab(*fields)
        test(datetime(2026, 1, 1))  # noqa: DTZ001 - only checks that it parses
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"The schedule {line!r} is not a cron line: {exc}") from None
    return test


def check_trigger(trigger: str, schedule: str) -> tuple[str, str]:
    if trigger == MANUAL and not schedule.strip():
        return trigger, ""
    if trigger == SCHEDULE:
        cron(schedule)
        return trigger, " ".join(schedule.split())
    if trigger not in EVENTS:
        raise InvalidInput(f"Unknown trigger {trigger!r}; use {', '.join(TRIGGERS)}.")
    if schedule.strip():
        raise InvalidInput("An event trigger takes no schedule.")
    return trigger, ""


def record_announced(
    event: object, ticket_id: int, *, actor: object = None, article_id: object = None
) -> None:
    """Subscriber of ``actions.events.on_announce``: keep the events jobs trigger on,
    in the announcing transaction, when a valid job waits for them."""
    kind = str(event)
    if kind not in ANNOUNCED:
        return
    if AutomationJob.objects.filter(valid=True, trigger=kind).exists():
        AutomationEvent.objects.create(kind=kind, ticket_id=ticket_id)
