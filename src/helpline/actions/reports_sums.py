"""The sums of the day rows of a report, added up by the database per period (day,
week, month) or per queue: counts, backlog changes and the histograms' buckets.
A year over fifty queues is some thousands of numbers back, never the day rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import F, IntegerField, Sum
from django.db.models.expressions import Combinable
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncMonth, TruncWeek

from helpline.actions.reports_aggregate import AGE_EDGES, age_key
from helpline.models import ReportDay

Key = date | int


@dataclasses.dataclass
class Sums:
    received: int = 0
    answered: int = 0
    closed: int = 0
    first_response: dict[int, int] = dataclasses.field(default_factory=dict)
    handling: dict[int, int] = dataclasses.field(default_factory=dict)
    backlog: list[int] = dataclasses.field(default_factory=lambda: [0] * len(AGE_EDGES))

    def add(self, other: Sums) -> None:
        self.received += other.received
        self.answered += other.answered
        self.closed += other.closed
        for mine, theirs in (
            (self.first_response, other.first_response),
            (self.handling, other.handling),
        ):
            for bucket, count in theirs.items():
                mine[bucket] = mine.get(bucket, 0) + count
        self.backlog = [a + b for a, b in zip(self.backlog, other.backlog, strict=True)]


def _group_expression(by: str) -> Combinable:
    if by == "week":
        return TruncWeek("day")
    if by == "month":
        return TruncMonth("day")
    return F("queue_id" if by == "queue" else "day")


# The same groups in SQL, per database, for the histograms' buckets ("%" doubled:
# the query has parameters).
_GROUP_SQL = {
    "postgresql": {
        "day": "d.day",
        "week": "CAST(date_trunc('week', d.day) AS date)",
        "month": "CAST(date_trunc('month', d.day) AS date)",
        "queue": "d.queue_id",
    },
    "sqlite": {
        "day": "d.day",
        "week": "date(d.day, '-' || ((CAST(strftime('%%w', d.day) AS integer) + 6)"
        " %% 7) || ' days')",
        "month": "strftime('%%Y-%%m-01', d.day)",
        "queue": "d.queue_id",
    },
}
_EACH_SQL = {"postgresql": "jsonb_each_text", "sqlite": "json_each"}
_HISTOGRAMS = ("first_response_hist", "handling_hist")


def _key(value: Any) -> Key:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date | int):
        return value
    return date.fromisoformat(str(value)[:10])


def _buckets(
    column: str, by: str, where: tuple[int, list[int], date, date]
) -> dict[Key, dict[int, int]]:
    agent_id, queue_ids, start, end = where
    vendor = connection.vendor
    group = _GROUP_SQL[vendor][by]
    placeholders = ", ".join(["%s"] * len(queue_ids))
    # Only constants and placeholders are put into the text; values are parameters.
    sql = (
        f"SELECT {group} AS g, j.key, SUM(CAST(j.value AS integer)) "  # noqa: S608
        f"FROM helpline_report_day d, {_EACH_SQL[vendor]}(d.{column}) j "
        f"WHERE d.agent_id = %s AND d.day >= %s AND d.day <= %s "
        f"AND d.queue_id IN ({placeholders}) GROUP BY 1, 2"
    )
    out: dict[Key, dict[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [agent_id, start, end, *queue_ids])
        for g, bucket, count in cursor.fetchall():
            if count:
                out.setdefault(_key(g), {})[int(bucket)] = int(count)
    return out


def sums(
    *, agent_id: int, queue_ids: list[int], start: date, end: date, by: str
) -> dict[Key, Sums]:
    """The sums of the day rows from ``start`` to ``end`` grouped ``by`` "day",
    "week", "month" (keyed by the period's first day) or "queue" (by queue id)."""
    if not queue_ids:
        return {}
    ages: Mapping[str, Any] = {
        f"age{i}": Sum(Cast(KT(f"backlog_delta__{age_key(i)}"), IntegerField()))
        for i in range(len(AGE_EDGES))
    }
    rows = (
        ReportDay.objects.filter(
            agent_id=agent_id, queue_id__in=queue_ids, day__gte=start, day__lte=end
        )
        .annotate(g=_group_expression(by))
        .order_by()
        .values("g")
        .annotate(
            received_sum=Sum("received"),
            answered_sum=Sum("answered"),
            closed_sum=Sum("closed"),
            **ages,
        )
    )
    out: dict[Key, Sums] = {}
    for row in rows:
        out[_key(row["g"])] = Sums(
            received=row["received_sum"] or 0,
            answered=row["answered_sum"] or 0,
            closed=row["closed_sum"] or 0,
            backlog=[row[f"age{i}"] or 0 for i in range(len(AGE_EDGES))],
        )
    where = (agent_id, queue_ids, start, end)
    for column in _HISTOGRAMS:
        for key, buckets in _buckets(column, by, where).items():
            target = out.setdefault(key, Sums())
            if column == "first_response_hist":
                target.first_response = buckets
            else:
                target.handling = buckets
    return out
