"""Report figures (docs/reports.md): the same ``build_report`` as the reports page,
so the API shows no figure of a queue the caller may not read."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from helpline.actions.reports import Figures, age_labels, build_report
from helpline.api.schemas import answers, omissible

router = Router(tags=["reports"])


class ReportIn(Schema):
    start: date = omissible(description="First day (default: 12 weeks before end).")
    end: date = omissible(description="Last day (default: today).")
    unit: Literal["day", "week", "month"] = "week"
    queue: int = omissible(description="One queue's id (default: all you may read).")
    group: int = omissible(description="One group's id: the sum of its queues.")
    agent: int = omissible(
        description="One agent's id: that agent's figures (yours, or any if admin)."
    )


class FiguresOut(Schema):
    received: int
    answered: int
    closed: int
    first_response_median_s: float | None
    first_response_p90_s: float | None
    handling_median_s: float | None
    handling_p90_s: float | None
    backlog: int | None = Field(description="Open at the end; null for an agent.")
    backlog_by_age: list[int] | None = Field(description="By the buckets of ages.")


class PeriodOut(Schema):
    first_day: date
    last_day: date
    figures: FiguresOut


class ReportOut(Schema):
    title: str
    unit: str
    start: date
    end: date
    ages: list[str] = Field(description="The age buckets of the backlog.")
    queues: list[str]
    periods: list[PeriodOut]
    total: FiguresOut
    overdue_now: int | None


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "received": f.received,
        "answered": f.answered,
        "closed": f.closed,
        "first_response_median_s": f.first_response_median,
        "first_response_p90_s": f.first_response_p90,
        "handling_median_s": f.handling_median,
        "handling_p90_s": f.handling_p90,
        "backlog": f.backlog,
        "backlog_by_age": f.backlog_ages,
    }


@router.get(
    "/reports",
    response=answers({200: ReportOut}, 403, 404),
    summary="Report figures per day, week or month of the queues you may read",
)
def get_report(request: HttpRequest, params: Query[ReportIn]) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    end = params.end or timezone.localdate()
    start = params.start or end - timedelta(days=7 * 12 - 1)
    report = build_report(
        agent,
        start=start,
        end=end,
        unit=params.unit,
        queue_id=params.queue,
        group_id=params.group,
        agent_id=params.agent,
    )
    return {
        "title": report.title,
        "unit": report.unit,
        "start": report.start,
        "end": report.end,
        "ages": age_labels(),
        "queues": [q.name for q in report.queues],
        "periods": [
            {"first_day": p.first, "last_day": p.last, "figures": _figures(p.figures)}
            for p in report.periods
        ],
        "total": _figures(report.total),
        "overdue_now": report.overdue_now,
    }
