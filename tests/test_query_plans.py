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
        # The other index of the queue's tickets out of the way (rolled back with
        # the test): can this one serve the page, in its order?
        cursor.execute("DROP INDEX ticket_queue_view")
        # And every other index leading with the queue (the foreign key's): with the
        # statistics earlier tests left, the planner may prefer one of them and a sort.
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'helpline_ticket' "
            "AND indexname <> 'ticket_open_queue' AND indexdef LIKE %s",
            ["%(queue_id%"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)  # noqa: S608 - Django's SQL
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "ticket_open_queue" in plan
    assert "Sort" not in plan
