"""Ticket writes and the full-text index: an entry is written only when it changed,
and on PostgreSQL the GIN indexes' pending lists are moved into the indexes by the
worker's periodic job, not by an agent's update (issue 20)."""

from __future__ import annotations

import pytest
from django.db import connection

from helpline.actions import locks
from helpline.models import Ticket
from helpline.search import indexer
from helpline.search.postgres import GIN_INDEXES, GIN_PENDING_LIST_KB
from tests.search import numbers, reader_of, search_index
from tests.support import make_group, make_queue, make_ticket


@pytest.fixture(autouse=True)
def _index(db):
    yield from search_index()


@pytest.fixture
def queue(db):
    return make_queue("info-en", group=make_group("Support"))


@pytest.fixture
def alice(queue):
    return reader_of(queue.group, "alice")


def _row_version(ticket_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xmin::text FROM helpline_ticket WHERE id = %s", [ticket_id]
        )
        return str(cursor.fetchone()[0])


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the entry is a column of the ticket row on PostgreSQL only")


def test_a_reindex_that_changes_nothing_leaves_the_ticket_row_alone(queue, alice):
    _postgresql_only()
    ticket = make_ticket(queue, body="pangolin")
    indexer.reindex_tickets([ticket.pk])
    before = _row_version(ticket.pk)
    locks.do_unlock(None, Ticket.objects.get(pk=ticket.pk))  # nothing searchable
    indexer.reindex_tickets([ticket.pk])
    indexer.reindex_ticket_job(ticket.pk)
    assert _row_version(ticket.pk) == before
    assert numbers(alice, "pangolin") == [ticket.number]


def test_a_reindex_after_a_searchable_change_still_writes_it(queue, alice):
    ticket = make_ticket(queue, title="About a pangolin", body="pangolin")
    indexer.reindex_tickets([ticket.pk])
    Ticket.objects.filter(pk=ticket.pk).update(title="About an aardvark")
    indexer.reindex_tickets([ticket.pk])
    assert numbers(alice, "title:aardvark") == [ticket.number]
    assert numbers(alice, "title:pangolin") == []


def test_the_gin_indexes_buffer_far_more_than_postgresqls_default(queue):
    _postgresql_only()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [list(GIN_INDEXES)],
        )
        options = dict(cursor.fetchall())
    assert set(options) == set(GIN_INDEXES)
    for name, reloptions in options.items():
        assert f"gin_pending_list_limit={GIN_PENDING_LIST_KB}" in reloptions, name
        assert "fastupdate=on" in reloptions, name


def test_flushing_moves_the_pending_entries_into_the_indexes(queue, alice):
    tickets = [make_ticket(queue, body=f"quokka number {n}") for n in range(20)]
    indexer.reindex_tickets([t.pk for t in tickets])
    moved = indexer.flush_pending()
    if connection.vendor == "postgresql":
        assert moved > 0  # the entries waited in the pending lists
    assert indexer.flush_pending() == 0  # nothing left
    assert sorted(numbers(alice, "quokka")) == sorted(t.number for t in tickets)
