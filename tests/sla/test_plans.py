"""The queue view sorted by escalation can read its page from the partial index
``ticket_open_escalation`` in order, without sorting the queue's open tickets
(PostgreSQL; on SQLite the index is there with its condition)."""

from __future__ import annotations

import pytest
from django.db import connection

from helpline.models import Ticket
from helpline.web import listing
from tests.plans import explain_with_only
from tests.support import make_queue, make_ticket

pytestmark = pytest.mark.django_db


def test_the_escalation_sort_of_a_queue_can_come_from_its_index():
    queue = make_queue("info-en")
    for _ in range(3):
        make_ticket(queue)
    page = listing.apply_sorting(
        Ticket.objects.filter(queue=queue).open(),
        listing.Sorting("escalation", False),
        default=listing.QUEUE_ORDER,
    )
    sql, params = page[:25].query.sql_with_params()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'ticket_open_escalation'"
            )
            (definition,) = cursor.fetchone()
        assert "WHERE" in definition and "escalation_at" in definition
        return
    plan = explain_with_only("helpline_ticket", "ticket_open_escalation", sql, params)
    assert "ticket_open_escalation" in plan
    assert "Sort" not in plan
