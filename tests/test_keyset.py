"""Keyset paging (models/keyset.py): every row once in either order, ties of the
field included, and on PostgreSQL the next page is a range of the index that starts
where the last page ended — the reports' rebuild, retention, the read audit's pages
and the API's cursors all page this way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from helpline.models import ReadEvent, Ticket
from helpline.models.keyset import after_key
from tests.plans import explain_with_only
from tests.support import make_queue, make_ticket

pytestmark = pytest.mark.django_db


def _walk(descending: bool, size: int) -> list[int]:
    sign = "-" if descending else ""
    seen: list[int] = []
    last = None
    while True:
        rows = Ticket.objects.all()
        if last is not None:
            rows = rows.filter(after_key("changed", *last, descending=descending))
        page = list(rows.order_by(f"{sign}changed", f"{sign}pk")[:size])
        if not page:
            return seen
        seen += [t.pk for t in page]
        last = (page[-1].changed, page[-1].pk)


@pytest.mark.parametrize("descending", [False, True])
def test_every_row_comes_once_in_either_order(descending):
    queue = make_queue("info-en")
    made = [make_ticket(queue).pk for _ in range(7)]
    tie = datetime(2026, 3, 1, 12, tzinfo=UTC)
    Ticket.objects.filter(pk__in=made[:5]).update(changed=tie)
    Ticket.objects.filter(pk__in=made[5:]).update(
        changed=datetime(2026, 3, 2, tzinfo=UTC)
    )
    expected = made if not descending else made[::-1]
    for size in (1, 2, 3, 10):
        assert _walk(descending, size) == expected


@pytest.mark.parametrize("descending", [False, True])
def test_a_ticket_page_is_a_range_of_the_index(descending):
    ticket = make_ticket(make_queue("info-en"))
    sign = "-" if descending else ""
    page = (
        Ticket.objects.filter(
            after_key("changed", ticket.changed, ticket.pk, descending=descending)
        )
        .order_by(f"{sign}changed", f"{sign}pk")
        .values_list("pk")[:500]
    )
    assert list(page) == []
    if connection.vendor != "postgresql":
        return
    sql, params = page.query.sql_with_params()
    plan = explain_with_only("helpline_ticket", "ticket_changed_id", sql, params)
    assert f"Index Cond: (changed {'<=' if descending else '>='}" in plan
    assert "Sort" not in plan


def test_a_read_audit_page_is_a_range_of_the_index():
    at = datetime(2026, 3, 1, tzinfo=UTC)
    page = ReadEvent.objects.filter(after_key("at", at, 10, descending=True)).order_by(
        "-at", "-id"
    )[:100]
    assert list(page) == []
    if connection.vendor != "postgresql":
        return
    sql, params = page.query.sql_with_params()
    plan = explain_with_only("helpline_read_event", "read_event_at", sql, params)
    assert "Index Cond: (at <=" in plan
