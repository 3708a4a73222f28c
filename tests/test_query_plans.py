"""Partial indexes are used only when the query's condition is their predicate: the
queue view's page must be able to come from ``ticket_open_queue`` (migration 0013)
in its order.  PostgreSQL plans with the values of the query's parameters, so it
can; SQLite plans before it knows them and cannot use a partial index whose
condition needs them (the index is there, small: open tickets only)."""

from __future__ import annotations

import pytest
from django.db import connection

from helpline.models import Ticket
from helpline.web import listing
from tests.plans import explain_with_only
from tests.support import make_queue, make_ticket

pytestmark = pytest.mark.django_db


def test_the_queue_views_page_can_come_from_the_open_queue_index():
    queue = make_queue("info-en")
    for _ in range(3):
        make_ticket(queue)
    page = Ticket.objects.filter(queue=queue).open().order_by(*listing.QUEUE_ORDER)
    sql, params = page[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'ticket_open_queue'"
            )
            (definition,) = cursor.fetchone()
            assert "WHERE" in definition and "pending_auto" in definition
            return
    plan = explain_with_only("helpline_ticket", "ticket_open_queue", sql, params)
    assert "ticket_open_queue" in plan
    assert "Sort" not in plan
