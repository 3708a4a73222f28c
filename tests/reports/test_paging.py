"""The aggregation walks the tickets in pages of (changed, id): every ticket once,
ties of ``changed`` included, and on PostgreSQL each page is a range of the index
``ticket_changed_id`` that starts where the last page ended (not the index from
its start, filtered: that made a rebuild's cost grow with the square of the
tickets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from helpline.actions import reports_aggregate
from helpline.models import Ticket
from tests.plans import explain_with_only
from tests.support import make_queue, make_ticket

pytestmark = pytest.mark.django_db


def test_pages_hold_every_ticket_once_ties_included(monkeypatch):
    queue = make_queue("info-en")
    made = [make_ticket(queue).pk for _ in range(7)]
    tie = datetime(2026, 3, 1, 12, tzinfo=UTC)
    # Five tickets changed at the same moment, two later.
    Ticket.objects.filter(pk__in=made[:5]).update(changed=tie)
    Ticket.objects.filter(pk__in=made[5:]).update(
        changed=datetime(2026, 3, 2, tzinfo=UTC)
    )
    monkeypatch.setattr(reports_aggregate, "BATCH", 2)
    pages = list(reports_aggregate._changed_pages(None))
    seen = [pk for page in pages for pk, _ in page]
    assert seen == made  # in (changed, id) order: the tie by id, then the later two
    assert [len(page) for page in pages] == [2, 2, 2, 1]


def test_a_page_is_a_range_of_the_index():
    queue = make_queue("info-en")
    ticket = make_ticket(queue)
    page = (
        reports_aggregate.after(Ticket.objects.all(), ticket.changed, ticket.pk)
        .order_by("changed", "pk")
        .values_list("pk", "changed")[:500]
    )
    assert list(page) == []
    if connection.vendor != "postgresql":
        return
    sql, params = page.query.sql_with_params()
    plan = explain_with_only("helpline_ticket", "ticket_changed_id", sql, params)
    assert "ticket_changed_id" in plan
    assert "Index Cond: (changed >=" in plan
    assert "Sort" not in plan
