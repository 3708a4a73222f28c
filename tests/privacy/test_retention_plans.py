"""Retention's preview reads each queue's due tickets as a range of a partial index
(migration 0029), not the queue's kept tickets one by one: at a million tickets the
nightly preview costs what is due.  PostgreSQL plans with the query's values, so the
plan must name the index, in its order; SQLite cannot use a partial index whose
condition needs parameters, so there the index is only checked to exist."""

from __future__ import annotations

import pytest
from django.db import connection

from helpline.actions import retention
from helpline.models import Ticket
from tests.plans import explain_with_only
from tests.privacy.removing import keep_for, later
from tests.support import make_queue, make_ticket

pytestmark = pytest.mark.django_db


def plan(sql: str, params: tuple, keep: str) -> str:
    return explain_with_only("helpline_ticket", keep, sql, params)


@pytest.mark.parametrize(
    ("junk", "index"),
    [(False, "ticket_retention"), (True, "ticket_retention_junk")],
)
def test_the_due_tickets_of_a_queue_are_a_range_of_its_index(junk, index):
    queue = make_queue("Mail")
    queue = keep_for(queue, 30, junk=junk)
    for _ in range(3):
        make_ticket(queue)
    condition, order = retention.due(queue, later(31))
    page = Ticket.objects.filter(condition).order_by(*order).values_list("number")
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [index])
            (definition,) = cursor.fetchone()
        assert "WHERE" in definition and "legal_hold" in definition
        return
    sql, params = page[:20].query.sql_with_params()
    shown = plan(sql, params, index)
    assert index in shown, shown
    assert "Sort" not in shown, shown
    count_sql, count_params = (
        Ticket.objects.filter(condition).values("pk").query.sql_with_params()
    )
    assert index in plan(f"SELECT count(*) FROM ({count_sql}) t", count_params, index)
