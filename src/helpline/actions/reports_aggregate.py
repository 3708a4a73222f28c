"""Fill the report aggregates (docs/reports.md) from the tickets changed since the
last run: for each ticket, its facts now (``ReportTicket``) are compared with the
facts last aggregated, and the difference is applied to the day rows
(``ReportDay``) in the same transaction.  Running it again changes nothing; a
rebuild empties both tables and aggregates every ticket from the start.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from helpline.actions.reports_histogram import bucket_of
from helpline.models import (
    Article,
    ReportCursor,
    ReportDay,
    ReportTicket,
    SenderType,
    StateType,
    Ticket,
)
from helpline.models.keyset import after_key

BATCH = 500
# Each run looks this far behind the last change it saw: a transaction that
# committed late with an earlier ``changed`` is still counted (running twice over a
# ticket changes nothing).
SLACK = timedelta(minutes=10)
# Backlog age buckets, in whole days since the day the ticket was received:
# [0, 1), [1, 7), [7, 30), [30, 90), [90, ...).
AGE_EDGES = (0, 1, 7, 30, 90)

Key = tuple[date, int, int]  # day, queue, agent (0: the whole queue)


@dataclasses.dataclass(frozen=True)
class Facts:
    queue_id: int
    created: datetime
    first_response: datetime | None
    first_responder_id: int | None
    closed: datetime | None
    owner_id: int | None
    open: bool


@dataclasses.dataclass
class Delta:
    received: int = 0
    answered: int = 0
    closed: int = 0
    first_response: Counter[str] = dataclasses.field(default_factory=Counter)
    handling: Counter[str] = dataclasses.field(default_factory=Counter)
    backlog: Counter[str] = dataclasses.field(default_factory=Counter)


def age_key(index: int) -> str:
    """The key of an age bucket in ``backlog_delta``: not a bare number, which the
    databases' JSON paths would read as an array index."""
    return f"age{index}"


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def contributions(facts: Facts, sign: int, into: dict[Key, Delta]) -> None:
    """Add (``sign`` 1) or take away (-1) what one ticket's facts count."""

    def at(day: date, agent: int = 0) -> Delta:
        return into.setdefault((day, facts.queue_id, agent), Delta())

    received = local_day(facts.created)
    at(received).received += sign
    if facts.first_response is not None:
        day = local_day(facts.first_response)
        bucket = str(bucket_of((facts.first_response - facts.created).total_seconds()))
        agents = [0] + ([facts.first_responder_id] if facts.first_responder_id else [])
        for agent in agents:
            at(day, agent).answered += sign
            at(day, agent).first_response[bucket] += sign
    end: date | None = None
    if facts.closed is not None:
        end = local_day(facts.closed)
        bucket = str(bucket_of((facts.closed - facts.created).total_seconds()))
        for agent in [0] + ([facts.owner_id] if facts.owner_id else []):
            at(end, agent).closed += sign
            at(end, agent).handling[bucket] += sign
    if not facts.open and facts.closed is None:
        return
    # In the backlog at the end of each day from ``received`` to before ``end``.
    edges = [*AGE_EDGES[1:], None]
    for index, low in enumerate(AGE_EDGES):
        first = received + timedelta(days=low)
        high = edges[index]
        last = None if high is None else received + timedelta(days=high)
        if end is not None:
            last = end if last is None else min(last, end)
        if last is not None and first >= last:
            continue
        at(first).backlog[age_key(index)] += sign
        if last is not None:
            at(last).backlog[age_key(index)] -= sign


def facts_of(ticket_ids: list[int]) -> dict[int, Facts]:
    """The facts of the tickets now; merged and removed tickets have none."""
    rows = Ticket.objects.filter(pk__in=ticket_ids).values_list(
        "pk", "queue_id", "created", "closed_at", "owner_id", "state_type"
    )
    first: dict[int, tuple[datetime, int | None]] = {}
    for ticket_id, created, agent in (
        Article.objects.filter(
            ticket_id__in=ticket_ids,
            sender_type=SenderType.AGENT,
            visible_to_customer=True,
        )
        .order_by("ticket_id", "created", "id")
        .values_list("ticket_id", "created", "created_by_id")
    ):
        first.setdefault(ticket_id, (created, agent))
    facts = {}
    for pk, queue_id, created, closed_at, owner_id, state_type in rows:
        is_open = state_type in StateType.open_types()
        if not is_open and state_type != StateType.CLOSED:
            continue
        response, responder = first.get(pk, (None, None))
        facts[pk] = Facts(
            queue_id=queue_id,
            created=created,
            first_response=response,
            first_responder_id=responder,
            closed=None if is_open else (closed_at or created),
            owner_id=owner_id,
            open=is_open,
        )
    return facts


def _stored(ticket_ids: list[int]) -> dict[int, Facts]:
    return {
        row.ticket_id: Facts(
            queue_id=row.queue_id,
            created=row.created,
            first_response=row.first_response,
            first_responder_id=row.first_responder_id,
            closed=row.closed,
            owner_id=row.owner_id,
            open=row.open,
        )
        for row in ReportTicket.objects.filter(ticket_id__in=ticket_ids)
    }


def _add(counts: dict[str, int], delta: Counter[str]) -> dict[str, int]:
    merged = dict(counts)
    for key, value in delta.items():
        merged[key] = merged.get(key, 0) + value
        if merged[key] == 0:
            del merged[key]
    return merged


def _apply(deltas: dict[Key, Delta]) -> None:
    deltas = {
        key: d
        for key, d in deltas.items()
        if d.received
        or d.answered
        or d.closed
        or any(d.first_response.values())
        or any(d.handling.values())
        or any(d.backlog.values())
    }
    if not deltas:
        return
    existing = {
        (row.day, row.queue_id, row.agent_id): row
        for row in ReportDay.objects.select_for_update().filter(
            day__in={k[0] for k in deltas},
            queue_id__in={k[1] for k in deltas},
            agent_id__in={k[2] for k in deltas},
        )
    }
    changed: list[ReportDay] = []
    created: list[ReportDay] = []
    empty: list[int] = []
    for key, d in deltas.items():
        row = existing.get(key) or ReportDay(
            day=key[0], queue_id=key[1], agent_id=key[2]
        )
        row.received += d.received
        row.answered += d.answered
        row.closed += d.closed
        row.first_response_hist = _add(row.first_response_hist, d.first_response)
        row.handling_hist = _add(row.handling_hist, d.handling)
        row.backlog_delta = _add(row.backlog_delta, d.backlog)
        blank = not (
            row.received
            or row.answered
            or row.closed
            or row.first_response_hist
            or row.handling_hist
            or row.backlog_delta
        )
        if row.pk is None:
            if not blank:
                created.append(row)
        elif blank:
            empty.append(row.pk)
        else:
            changed.append(row)
    # Changed rows are replaced (deleted and written again, in this transaction,
    # under the row locks taken above): far cheaper than an UPDATE per row.
    ReportDay.objects.filter(pk__in=empty + [row.pk for row in changed]).delete()
    for row in changed:
        row.pk = None
    ReportDay.objects.bulk_create(changed + created, batch_size=1000)


def aggregate_tickets(ticket_ids: list[int]) -> int:
    """Bring the aggregates of these tickets up to date; how many changed."""
    with transaction.atomic():
        old = _stored(ticket_ids)
        new = facts_of(ticket_ids)
        deltas: dict[Key, Delta] = {}
        touched = [pk for pk in ticket_ids if old.get(pk) != new.get(pk)]
        for pk in touched:
            if pk in old:
                contributions(old[pk], -1, deltas)
            if pk in new:
                contributions(new[pk], 1, deltas)
        _apply(deltas)
        ReportTicket.objects.filter(
            ticket_id__in=[pk for pk in touched if pk not in new]
        ).delete()
        _save_facts({pk: new[pk] for pk in touched if pk in new}, old)
    return len(touched)


def _save_facts(facts: dict[int, Facts], old: dict[int, Facts]) -> None:
    ReportTicket.objects.filter(
        ticket_id__in=[pk for pk in facts if pk in old]
    ).delete()
    ReportTicket.objects.bulk_create(
        [
            ReportTicket(ticket_id=pk, **dataclasses.asdict(f))
            for pk, f in facts.items()
        ],
        batch_size=1000,
    )


def after(qs: QuerySet[Ticket], changed: datetime, pk: int) -> QuerySet[Ticket]:
    """The tickets after ``(changed, pk)`` in the order (changed, pk).

    ``changed >= X`` first, as a condition of its own: it is the range the index
    ``ticket_changed_id`` is read from, so a page starts where the last one ended.
    With the ``OR`` alone the index could only be read from its start and
    filtered, every page reading all the pages before it again: a rebuild's cost
    grew with the square of the tickets (docs/performance.md, reports at 1M)."""
    return qs.filter(after_key("changed", changed, pk))


def _changed_pages(since: datetime | None) -> Iterable[list[tuple[int, datetime]]]:
    qs: QuerySet[Ticket] = Ticket.objects.all()
    if since is not None:
        qs = qs.filter(changed__gte=since)
    last: tuple[datetime, int] | None = None
    while True:
        page_qs = qs
        if last is not None:
            page_qs = after(qs, *last)
        page = list(
            page_qs.order_by("changed", "pk").values_list("pk", "changed")[:BATCH]
        )
        if not page:
            return
        last = (page[-1][1], page[-1][0])
        yield page


def update_reports() -> int:
    """The periodic job: aggregate the tickets changed since the last run."""
    cursor, _ = ReportCursor.objects.get_or_create(pk=1)
    since = None if cursor.changed is None else cursor.changed - SLACK
    changed = 0
    for page in _changed_pages(since):
        changed += aggregate_tickets([pk for pk, _ in page])
        newest = page[-1][1]
        if cursor.changed is None or newest > cursor.changed:
            cursor.changed = newest
            cursor.ticket_id = page[-1][0]
            cursor.save(update_fields=["changed", "ticket_id"])
    return changed


def rebuild_reports() -> int:
    """Empty the aggregates and aggregate every ticket again."""
    with transaction.atomic():
        ReportDay.objects.all().delete()
        ReportTicket.objects.all().delete()
        ReportCursor.objects.update_or_create(
            pk=1, defaults={"changed": None, "ticket_id": 0}
        )
    count = update_reports()
    if connection.vendor == "postgresql":
        # Fresh statistics: before autovacuum analyses the refilled table, the
        # planner guesses a handful of rows for thousands (docs/performance.md).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE helpline_report_day")
    return count
