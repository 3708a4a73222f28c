"""The aggregates kept incrementally equal a rebuild; a run twice changes nothing;
the query count of the aggregation does not grow with the tickets."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.actions import tickets
from helpline.actions.reports import build_report
from helpline.actions.reports_aggregate import rebuild_reports, update_reports
from helpline.models import ReportDay, ReportTicket
from tests.reports.conftest import reply
from tests.support import make_ticket

pytestmark = pytest.mark.django_db


def _snapshot() -> list[tuple]:
    return sorted(
        (
            r.day, r.queue_id, r.agent_id, r.received, r.answered, r.closed,
            sorted(r.first_response_hist.items()), sorted(r.handling_hist.items()),
            sorted(r.backlog_delta.items()),
        )
        for r in ReportDay.objects.all()
    )  # fmt: skip


def test_incremental_equals_rebuild(desk, clock):
    update_reports()  # the fixture so far
    clock.at("2026-03-05 13:00")
    reply(desk.alice, desk.t3.pk)
    tickets.move_ticket(desk.bob, desk.t2.pk, desk.b)
    update_reports()
    clock.at("2026-03-20 10:00")
    tickets.set_state(desk.alice, desk.t1.pk, "open")  # reopened
    t5 = make_ticket(desk.a)
    update_reports()
    clock.at("2026-04-02 10:00")
    tickets.close_ticket(desk.root, t5.pk, note="done")
    tickets.close_ticket(desk.alice, desk.t1.pk, note="done again")
    update_reports()
    incremental = _snapshot()
    assert update_reports() == 0  # nothing changed since: nothing to do
    assert _snapshot() == incremental
    rebuild_reports()
    assert _snapshot() == incremental
    # And the figures say what happened: t2 now counts in B.
    report = build_report(
        desk.root, start=date(2026, 3, 2), end=date(2026, 3, 2), unit="day",
        queue_id=desk.b.pk,
    )  # fmt: skip
    assert report.total.received == 2


def test_rebuild_command(desk, capsys):
    call_command("reports", "rebuild")
    assert "4 tickets" in capsys.readouterr().out
    assert ReportTicket.objects.count() == 4
    call_command("reports", "update")
    assert "0 tickets aggregated" in capsys.readouterr().out
    assert ReportTicket.objects.count() == 4


def _queries_to_aggregate(queue, count: int) -> int:
    for _ in range(count):
        make_ticket(queue)
    rebuild_reports()  # the same rows to empty in both measurements
    with CaptureQueriesContext(connection) as ctx:
        rebuild_reports()
    return len(ctx.captured_queries)


def test_aggregation_queries_do_not_grow_with_tickets(desk):
    few = _queries_to_aggregate(desk.a, 3)
    many = _queries_to_aggregate(desk.a, 30)
    assert many == few


def test_report_queries_do_not_grow_with_tickets(
    desk, clock, django_assert_max_num_queries
):
    update_reports()
    with CaptureQueriesContext(connection) as ctx:
        build_report(desk.root, start=date(2026, 1, 1), end=date(2026, 12, 31))
    for _ in range(20):
        make_ticket(desk.a)
    update_reports()
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        build_report(desk.root, start=date(2026, 1, 1), end=date(2026, 12, 31))
