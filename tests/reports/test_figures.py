"""The figures of the hand-computed fixture (tests/reports/conftest.py, Desk)."""

from __future__ import annotations

from datetime import date

import pytest

from helpline.actions.reports import build_report
from helpline.actions.reports_aggregate import update_reports
from helpline.actions.reports_histogram import (
    RELATIVE_ERROR,
    bucket_of,
    bucket_value,
    percentile,
)

pytestmark = pytest.mark.django_db

MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def _near(value: float | None, exact: float) -> bool:
    assert value is not None
    return abs(value - exact) <= RELATIVE_ERROR * exact


def test_queue_a_per_day(desk):
    update_reports()
    report = build_report(desk.root, start=MON, end=WED, unit="day", queue_id=desk.a.pk)
    mon, tue, wed = (p.figures for p in report.periods)
    assert (mon.received, mon.answered, mon.closed) == (2, 2, 0)
    assert (tue.received, tue.answered, tue.closed) == (1, 0, 1)
    assert (wed.received, wed.answered, wed.closed) == (0, 0, 0)
    # Backlog at the end of each day, by age: [<1 d, 1-7 d, 7-30, 30-90, >=90].
    assert mon.backlog_ages == [2, 0, 0, 0, 0]  # t1, t2 received that day
    assert tue.backlog_ages == [1, 1, 0, 0, 0]  # t3 new, t2 a day old
    assert wed.backlog_ages == [0, 2, 0, 0, 0]
    # Monday's first responses: 30 min and 2 h; nearest-rank median is 30 min.
    assert mon.first_response_median == bucket_value(bucket_of(1800))
    assert _near(mon.first_response_median, 1800)
    assert _near(mon.first_response_p90, 7200)
    assert _near(tue.handling_median, 86400)
    assert wed.first_response_median is None


def test_queue_a_per_week(desk):
    update_reports()
    report = build_report(
        desk.root, start=MON, end=date(2026, 3, 8), unit="week", queue_id=desk.a.pk
    )
    [week] = report.periods
    f = week.figures
    assert (f.received, f.answered, f.closed, f.backlog) == (3, 2, 1, 2)
    assert _near(f.first_response_median, 1800)
    assert _near(f.first_response_p90, 7200)
    assert _near(f.handling_p90, 86400)
    assert report.overdue_now == 0


def test_all_queues_and_by_queue(desk):
    update_reports()
    report = build_report(desk.root, start=MON, end=WED, unit="month")
    [month] = report.periods
    assert (month.figures.received, month.figures.answered) == (4, 3)
    assert month.figures.closed == 2
    assert month.figures.backlog == 2
    by_name = {q.name: f for q, f in report.by_queue}
    assert by_name["Queue B"].received == 1
    assert _near(by_name["Queue B"].handling_median, 3600)
    assert by_name["Queue B"].first_response_median == 30.0  # under a minute


def test_agent_figures(desk):
    update_reports()
    alice = build_report(
        desk.alice, start=MON, end=WED, unit="week", agent_id=desk.alice.pk
    )
    f = alice.total
    assert (f.received, f.answered, f.closed, f.backlog) == (0, 1, 1, None)
    bob = build_report(desk.root, start=MON, end=WED, unit="week", agent_id=desk.bob.pk)
    assert (bob.total.answered, bob.total.closed) == (2, 1)
    group_a = build_report(
        desk.root, start=MON, end=WED, unit="week", agent_id=desk.bob.pk,
        group_id=desk.group_a.pk,
    )  # fmt: skip
    assert (group_a.total.answered, group_a.total.closed) == (1, 0)


def test_percentile_nearest_rank():
    histogram = {}
    for seconds in [100, 200, 300, 400, 10_000]:
        histogram[bucket_of(seconds)] = histogram.get(bucket_of(seconds), 0) + 1
    assert _near(percentile(histogram, 0.5), 300)
    assert _near(percentile(histogram, 0.9), 10_000)
    assert percentile({}, 0.5) is None


@pytest.mark.parametrize("seconds", [60, 61, 99.5, 3600, 86400 * 30, 86400 * 400])
def test_bucket_bounds(seconds):
    assert abs(bucket_value(bucket_of(seconds)) - seconds) <= RELATIVE_ERROR * seconds


def test_backlog_carried_from_before_the_report(desk):
    """The backlog of a report that starts after the tickets arrived is the sum of
    the days before it (summed by the database)."""
    update_reports()
    report = build_report(desk.root, start=WED, end=WED, unit="day", queue_id=desk.a.pk)
    assert report.periods[0].figures.backlog_ages == [0, 2, 0, 0, 0]
    later = build_report(
        desk.root, start=date(2026, 4, 6), end=date(2026, 4, 6), unit="day"
    )
    assert later.periods[0].figures.backlog_ages == [0, 0, 0, 2, 0]  # 34, 35 days
