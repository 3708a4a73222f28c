"""Reports of the queues an agent may read, per day, week or month, from the daily
aggregates (``actions.reports_aggregate``; every figure defined in docs/reports.md).

Every entry point (web page, CSV, API, report mail) asks ``build_report``: it
narrows every question to the queues the agent may read, so no path shows a figure
of another queue.  An agent's own figures are for that agent and the admins.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import IntegerField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from helpline.actions.access import readable_queue_ids
from helpline.actions.reports_aggregate import AGE_EDGES, age_key
from helpline.actions.reports_histogram import percentile
from helpline.actions.reports_sums import Sums, sums
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import (
    AgentProfile,
    Group,
    Queue,
    ReportDay,
    StateType,
    Ticket,
)

UNITS = ("day", "week", "month")
# The longest report asked for at once (a year of days is 366 periods).
MAX_DAYS = 3 * 366


class ReportNotFound(NotFound):
    """No such queue, group or agent among those the agent may see."""


@dataclasses.dataclass
class Figures:
    received: int = 0
    answered: int = 0
    closed: int = 0
    first_response_median: float | None = None
    first_response_p90: float | None = None
    handling_median: float | None = None
    handling_p90: float | None = None
    # Open at the end of the period, by age bucket (AGE_EDGES); None for an agent.
    backlog_ages: list[int] | None = None

    @property
    def backlog(self) -> int | None:
        return None if self.backlog_ages is None else sum(self.backlog_ages)


@dataclasses.dataclass
class Period:
    first: date
    last: date
    figures: Figures


@dataclasses.dataclass
class Report:
    unit: str
    start: date
    end: date
    title: str
    queues: list[Queue]
    periods: list[Period]
    total: Figures
    # Per queue over the whole range (only with more than one queue).
    by_queue: list[tuple[Queue, Figures]]
    # Open tickets whose escalation time has passed, now (None for an agent).
    overdue_now: int | None


def age_labels() -> list[str]:
    labels = []
    for low, high in zip(AGE_EDGES, [*AGE_EDGES[1:], None], strict=True):
        labels.append(f"{low}–{high} d" if high is not None else f"≥ {low} d")
    return labels


def period_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _next(first: date, unit: str) -> date:
    if unit == "week":
        return first + timedelta(days=7)
    if unit == "month":
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first + timedelta(days=1)


def periods_of(start: date, end: date, unit: str) -> list[tuple[date, date]]:
    out = []
    first = period_start(start, unit)
    while first <= end:
        nxt = _next(first, unit)
        out.append((max(first, start), min(nxt - timedelta(days=1), end)))
        first = nxt
    return out


def visible_report_queues(agent: Any) -> list[Queue]:
    return list(Queue.objects.filter(pk__in=readable_queue_ids(agent)).order_by("name"))


def _scope(
    agent: Any, queue_id: int | None, group_id: int | None, agent_id: int | None
) -> tuple[list[Queue], str]:
    queues = visible_report_queues(agent)
    title = "All queues you may read"
    if queue_id is not None:
        queues = [q for q in queues if q.pk == queue_id]
        if not queues:
            raise ReportNotFound("No such queue.")
        title = queues[0].name
    elif group_id is not None:
        queues = [q for q in queues if q.group_id == group_id]
        if not queues:
            raise ReportNotFound("No such group.")
        title = Group.objects.get(pk=group_id).name
    if agent_id is not None:
        if agent_id != agent.pk and not agent.is_superuser:
            raise PermissionDenied("Only admins see the figures of other agents.")
        from django.contrib.auth import get_user_model

        who = get_user_model().objects.filter(pk=agent_id).first()
        if who is None:
            raise ReportNotFound("No such agent.")
        title = f"{who.get_username()} · {title}"
    return queues, title


def _figures(these: Sums, backlog: list[int] | None) -> Figures:
    return Figures(
        received=these.received,
        answered=these.answered,
        closed=these.closed,
        first_response_median=percentile(these.first_response, 0.5),
        first_response_p90=percentile(these.first_response, 0.9),
        handling_median=percentile(these.handling, 0.5),
        handling_p90=percentile(these.handling, 0.9),
        backlog_ages=None if backlog is None else list(backlog),
    )


def _backlog_before(queue_ids: list[int], start: date) -> list[int]:
    """The backlog at the end of the day before ``start``: the sum of every delta
    before it, summed by the database (one row per bucket)."""
    sums = ReportDay.objects.filter(
        agent_id=0, queue_id__in=queue_ids, day__lt=start
    ).aggregate(
        **{
            f"b{i}": Sum(Cast(KT(f"backlog_delta__{age_key(i)}"), IntegerField()))
            for i in range(len(AGE_EDGES))
        }
    )
    return [sums[f"b{i}"] or 0 for i in range(len(AGE_EDGES))]


def build_report(
    agent: Any,
    *,
    start: date,
    end: date,
    unit: str = "week",
    queue_id: int | None = None,
    group_id: int | None = None,
    agent_id: int | None = None,
    now: datetime | None = None,
) -> Report:
    """The figures of the queues the agent may read (one queue, one group's, or
    all), or of one agent on those queues, per ``unit`` from ``start`` to ``end``."""
    if unit not in UNITS:
        raise InvalidInput(f"Unknown unit {unit!r}: day, week or month.")
    if end < start:
        raise InvalidInput("The report ends before it starts.")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"A report covers at most {MAX_DAYS} days.")
    queues, title = _scope(agent, queue_id, group_id, agent_id)
    queue_ids = [q.pk for q in queues]
    per_period = sums(
        agent_id=agent_id or 0, queue_ids=queue_ids, start=start, end=end, by=unit
    )
    with_backlog = agent_id is None
    running = _backlog_before(queue_ids, start) if with_backlog else []
    periods = []
    total = Sums()
    for first, last in periods_of(start, end, unit):
        these = per_period.get(period_start(first, unit), Sums())
        total.add(these)
        running = [a + b for a, b in zip(running, these.backlog, strict=False)]
        periods.append(
            Period(first, last, _figures(these, running if with_backlog else None))
        )
    by_queue: list[tuple[Queue, Figures]] = []
    if len(queues) > 1:
        per_queue = sums(
            agent_id=agent_id or 0,
            queue_ids=queue_ids,
            start=start,
            end=end,
            by="queue",
        )
        by_queue = [(q, _figures(per_queue.get(q.pk, Sums()), None)) for q in queues]
    overdue = None
    if with_backlog:
        overdue = Ticket.objects.filter(
            Q(queue_id__in=queue_ids),
            state_type__in=StateType.open_types(),
            escalation_at__lte=now or timezone.now(),
        ).count()
    return Report(
        unit=unit,
        start=start,
        end=end,
        title=title,
        queues=queues,
        periods=periods,
        total=_figures(total, running if with_backlog else None),
        by_queue=by_queue,
        overdue_now=overdue,
    )


@dataclasses.dataclass(frozen=True)
class PublicBacklog:
    """One opted-in queue on the public page: its name and the count of its open
    tickets by age (AGE_EDGES), nothing else."""

    queue: str
    ages: list[int]

    @property
    def total(self) -> int:
        return sum(self.ages)


PUBLIC_CACHE_KEY = "helpline:public-backlog"
PUBLIC_CACHE_SECONDS = 300


def cached_public_backlog() -> list[PublicBacklog]:
    """``public_backlog`` as everyone sees it: computed at most every 5 minutes, and
    afresh after a queue opted in or out."""
    rows: list[PublicBacklog] | None = cache.get(PUBLIC_CACHE_KEY)
    if rows is None:
        rows = public_backlog()
        cache.set(PUBLIC_CACHE_KEY, rows, PUBLIC_CACHE_SECONDS)
    return rows


def public_backlog(*, today: date | None = None) -> list[PublicBacklog]:
    """The backlog of each queue that opted in (``Queue.public_backlog``) at the end
    of today, from the aggregates; other queues are not read at all."""
    today = today or timezone.localdate()
    queues = dict(
        Queue.objects.filter(public_backlog=True, valid=True).values_list("pk", "name")
    )
    if not queues:
        return []
    sums = {
        row["queue_id"]: row
        for row in ReportDay.objects.filter(
            agent_id=0, queue_id__in=list(queues), day__lte=today
        )
        .values("queue_id")
        .annotate(
            **{
                f"b{i}": Sum(Cast(KT(f"backlog_delta__{age_key(i)}"), IntegerField()))
                for i in range(len(AGE_EDGES))
            }
        )
    }
    out = []
    for pk, name in sorted(queues.items(), key=lambda item: item[1]):
        row = sums.get(pk, {})
        out.append(
            PublicBacklog(name, [row.get(f"b{i}") or 0 for i in range(len(AGE_EDGES))])
        )
    return out


def set_public_backlog(actor: Any | None, queue: Queue, *, public: bool) -> Queue:
    """Show the queue on the public backlog page, or stop showing it (admins only;
    ``actor`` None: the command line).  Written to the administration log."""
    from helpline.actions import admin

    if actor is not None and not (actor.is_active and actor.is_superuser):
        raise PermissionDenied("Only admins decide which queues are public.")
    before = bool(queue.public_backlog)
    queue.public_backlog = public
    queue.save(update_fields=["public_backlog"])
    admin.record(
        actor,
        "public backlog on" if public else "public backlog off",
        queue,
        before={"public_backlog": before},
        after={"public_backlog": public},
    )
    transaction.on_commit(lambda: cache.delete(PUBLIC_CACHE_KEY))
    return queue


def set_report_mail(actor: Any, agent: Any, *, subscribed: bool) -> None:
    """Subscribe ``agent`` to the weekly report mail or end it: the agent itself,
    or an admin (``actor`` None: the command line)."""
    if actor is not None and actor.pk != agent.pk and not actor.is_superuser:
        raise PermissionDenied("Only admins change another agent's report mail.")
    profile, _ = AgentProfile.objects.get_or_create(user=agent)
    profile.report_mail = subscribed
    profile.save(update_fields=["report_mail"])


def report_mail_subscribed(agent: Any) -> bool:
    return AgentProfile.objects.filter(user=agent, report_mail=True).exists()
