"""Keeping the index in step: after commit, per ticket, idempotent; full rebuilds."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction

import helpline.search
from helpline.actions import events, merge, tickets
from helpline.errors import Conflict
from helpline.models import StateType, Ticket
from helpline.search import indexer, parse_query, search_tickets
from helpline.search.base import ArticleText, TicketDocument, get_backend
from tests.search import committed, email_from, numbers, reader_of, search_index
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


# --- after commit, through the job ----------------------------------------------------
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_changes_are_indexed_after_commit_by_the_job(queue, alice):
    """The real path: commit -> on_ticket_changed -> Huey job -> index entry."""
    t = make_ticket(queue, title="Kestrel sighting", body="A bird.")
    assert numbers(alice, "kestrel") == [t.number]
    tickets.set_title(alice, t.pk, "Falcon sighting")
    assert numbers(alice, "title:kestrel") == []  # still in the first mail's subject
    assert numbers(alice, "title:falcon") == [t.number]
    email_from(alice, t.pk, body="It was a peregrine.", files=("peregrine.jpg",))
    assert numbers(alice, "peregrine") == [t.number]
    assert numbers(alice, "attachment:peregrine.jpg") == [t.number]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_merge_and_unmerge_move_the_text_between_tickets(queue, alice):
    source = make_ticket(queue, title="First", body="About the aardvark.")
    target = make_ticket(queue, title="Second", body="About the badger.")
    merge.merge_tickets(alice, source.pk, target.pk)
    assert numbers(alice, "aardvark badger") == [target.number]
    merge.unmerge_ticket(alice, source.pk)
    assert numbers(alice, "aardvark") == [source.number]
    assert numbers(alice, "aardvark badger") == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_change_leaves_the_index_as_it_was(queue, alice):
    t = make_ticket(queue, title="Heron", body="A bird.")
    with pytest.raises(Conflict), transaction.atomic():
        tickets.set_title(alice, t.pk, "Stork")
        raise Conflict("changed my mind")
    assert numbers(alice, "title:heron") == [t.number]
    assert numbers(alice, "stork") == []


def test_nothing_is_indexed_before_commit(queue, alice):
    make_ticket(queue, body="capybara")  # the test's transaction never commits
    assert numbers(alice, "capybara") == []


def test_a_split_article_is_found_in_the_new_ticket_too(queue, alice):
    with committed():
        t = make_ticket(queue, title="Two questions", body="First: the quokka.")
    article = t.articles.get()
    with committed():
        child = merge.split_article(alice, article.pk, title="Quokka question")
    assert sorted(numbers(alice, "quokka")) == sorted([t.number, child.number])
    assert numbers(alice, "title:quokka") == [child.number]


# --- the subscriber and the job -------------------------------------------------------
def test_register_subscribes_once():
    indexer.register()
    indexer.register()
    assert events.on_ticket_changed.count(indexer.enqueue_reindex) == 1


def test_reindexing_a_ticket_twice_leaves_one_entry(queue, alice):
    t = make_ticket(queue, body="narwhal")
    indexer.reindex_ticket_job(t.pk)
    indexer.reindex_ticket_job(t.pk)
    assert get_backend().indexed_count() == 1
    assert numbers(alice, "narwhal") == [t.number]


def _index_definition(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        (definition,) = cursor.fetchone()
    return str(definition)


def test_the_live_index_predicate_is_the_searchs_archived_filter(queue, alice):
    # PostgreSQL uses the partial index of tickets not archived (migration 0012) only
    # when the query's condition is the index's predicate: keep them the same.
    sql = str(
        helpline.search.filtered_tickets(alice, parse_query("okapi")).query
    ).replace('"helpline_ticket".', "")
    assert 'COALESCE("archived", False)' in sql or "COALESCE(archived, false)" in sql
    if connection.vendor == "postgresql":
        definition = _index_definition("helpline_ticket_search_live")
        assert definition.endswith("WHERE (NOT COALESCE(archived, false))")


def test_the_open_index_predicate_is_what_state_open_asks_for(queue, alice):
    # PostgreSQL uses the partial index of open tickets (migration 0015) only when
    # the query implies its predicate: ``state:open`` and the default archived test.
    query = helpline.search.filtered_tickets(alice, parse_query("state:open okapi"))
    sql, params = query.query.sql_with_params()
    open_types = {str(t) for t in StateType.open_types()}
    assert '"state_type" IN (' in sql
    assert open_types <= {str(p) for p in params}
    assert 'NOT COALESCE("helpline_ticket"."archived"' in sql
    if connection.vendor == "postgresql":
        definition = _index_definition("helpline_ticket_search_open")
        predicate = definition.split(" WHERE ", 1)[1]
        assert set(re.findall(r"'(\w+)'", predicate)) == open_types
        assert predicate.endswith("AND (NOT COALESCE(archived, false)))")


def test_index_now_indexes_inside_the_transaction_and_spares_the_job(
    queue, alice, monkeypatch
):
    queued: list[int] = []
    monkeypatch.setattr(indexer, "reindex_ticket_job", queued.append)
    with committed():
        first = make_ticket(queue, body="a pangolin")
        second = make_ticket(queue, body="a pangolin again")
        assert indexer.index_now([first.pk]) is True
        assert numbers(alice, "pangolin") == [first.number]  # before the commit
    assert queued == [second.pk]  # the job only for the ticket not indexed yet
    indexer.unregister()
    try:
        assert indexer.index_now([second.pk]) is False  # no index subscribed
    finally:
        indexer.register()


def test_a_failure_to_queue_does_not_break_the_change(queue, alice, monkeypatch):
    def broken(ticket_id):
        raise ConnectionError("job queue down")

    monkeypatch.setattr(indexer, "reindex_ticket_job", broken)
    with committed():
        t = make_ticket(queue, body="wombat")
    assert Ticket.objects.filter(pk=t.pk).exists()
    assert numbers(alice, "wombat") == []


def test_a_huge_text_is_indexed_up_to_a_limit(queue, alice):
    words = " ".join(f"w{n}x{'y' * (n % 50)}" for n in range(120_000))
    body = f"okapi {words} " + "z" * 5000
    with committed():
        t = make_ticket(queue, body=body)
    assert numbers(alice, "okapi") == [t.number]


# --- full rebuild ---------------------------------------------------------------------
def _reindex(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("search", "reindex", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_reindex_builds_the_index_from_the_tickets_and_can_be_repeated(queue, alice):
    made = [make_ticket(queue, body=f"ibis number {n}") for n in range(5)]
    assert numbers(alice, "ibis") == []  # not committed: never indexed
    out, err = _reindex("--batch", "2")
    assert out == "Indexed 5 tickets.\n"
    assert "5/5" in err and "100.0%" in err
    assert sorted(numbers(alice, "ibis")) == sorted(t.number for t in made)
    _reindex()
    assert get_backend().indexed_count() == 5
    assert len(numbers(alice, "ibis")) == 5


def test_a_fresh_reindex_empties_the_index_first(queue, alice):
    t = make_ticket(queue, body="tapir")
    indexer.reindex_tickets([t.pk, 999_999])
    _reindex("--fresh")
    assert get_backend().indexed_count() == 1
    assert numbers(alice, "tapir") == [t.number]


def test_reindex_leaves_no_entry_of_a_ticket_that_is_gone(queue, alice):
    t = make_ticket(queue, body="dodo")
    backend = get_backend()
    gone = TicketDocument(
        ticket_id=t.pk + 1000, title="Gone", articles=[ArticleText(body="extinct")]
    )
    backend.replace([gone.ticket_id], [gone])  # on SQLite an orphan row, else nothing
    _reindex()
    assert backend.indexed_count() == 1
    assert numbers(alice, "dodo") == [t.number]
    assert search_tickets(alice, "extinct").total == 0


def test_search_status_reports_the_backend_and_the_counts(queue, alice):
    make_ticket(queue, body="koala")
    _reindex()
    out = io.StringIO()
    call_command("search", "status", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert (data["tickets"], data["indexed"]) == (1, 1)
    assert data["backend"] == connection.vendor
    if connection.vendor == "postgresql":
        assert data["match_cost"] >= 1


# --- an upgrade: the tickets that exist when the index is created ---------------------
def _plan(*names: str, backwards: bool = False):
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return [(loader.get_migration("helpline", name), backwards) for name in names]


def test_a_migrate_that_creates_the_index_indexes_the_tickets_there_are(queue, alice):
    t = make_ticket(queue, body="an axolotl")  # never committed: not indexed
    assert numbers(alice, "axolotl") == []
    indexer.index_after_migrate(plan=_plan("0007_presence"))
    indexer.index_after_migrate(plan=_plan("0008_search", backwards=True))
    assert numbers(alice, "axolotl") == []  # neither created the index
    indexer.index_after_migrate(plan=_plan("0008_search", "0009_periodic_runs"))
    assert numbers(alice, "axolotl") == [t.number]


def test_migrate_sends_the_tickets_to_the_index(queue, alice):
    from django.apps import apps
    from django.db.models.signals import post_migrate

    t = make_ticket(queue, body="a quokka")
    config = apps.get_app_config("helpline")
    post_migrate.send(
        sender=config,
        app_config=config,
        verbosity=0,
        interactive=False,
        using=connection.alias,
        apps=apps,
        plan=_plan("0008_search"),
    )
    assert numbers(alice, "quokka") == [t.number]
