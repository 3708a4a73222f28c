"""Who may see a ticket, kept in its index entry (PostgreSQL), so that a search asks
the index only for the tickets of the agent's groups and the agent's own tickets.

The query's permission filter still decides what is shown; these tests check that the
index follows every change of who may see a ticket (queue, owner, responsible,
watchers), that searches rely on it only once every entry has it, and what it is.
"""

from __future__ import annotations

import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.actions import admin, locks, tickets
from helpline.actions.access import ReadingAccess, reading_access
from helpline.models import CommonWord, IndexState, Permission, Queue
from helpline.search import indexer, postgres, search_tickets
from helpline.search.base import (
    ENTRY_FORMAT,
    ArticleText,
    TicketDocument,
    access_indexed,
    forget_index_state,
    get_backend,
)
from tests.search import committed, numbers, reader_of, search_index
from tests.support import make_agent, make_group, make_queue, make_ticket

PG = "postgresql"


@pytest.fixture(autouse=True)
def _index(db):
    yield from search_index()


@pytest.fixture
def desk(db):
    support, legal = make_group("Support"), make_group("Legal")
    return {
        "info": make_queue("info-en", group=support),
        "billing": make_queue("info-en::billing", group=support),
        "legal": make_queue("legal", group=legal),
        "support": support,
        "legal_group": legal,
    }


@pytest.fixture
def alice(desk):
    return reader_of(desk["support"], "alice")


@pytest.fixture
def lawyer(desk):
    return reader_of(desk["legal_group"], "lawyer")


def ticket(queue, body: str, **kwargs):
    with committed():
        return make_ticket(queue, title="A question", body=body, **kwargs)


def _queries_of(agent, query: str) -> list[str]:
    """The SQL and parameters of one search, as text."""
    with CaptureQueriesContext(connection) as captured:
        search_tickets(agent, query)
    return [q["sql"] for q in captured.captured_queries]


def _asks_for(agent, query: str) -> set[str]:
    """The access each of the search's statements asks the index for (the part of
    its tsquery after the words): none when not narrowed."""
    asked: set[str] = set()
    for sql in _queries_of(agent, query):
        sql = sql.replace("''", "'")  # the tsquery is a quoted parameter
        if any(
            f") & ('{tag}" in sql for tag in (postgres.GROUP_TAG, postgres.QUEUE_TAG)
        ):
            asked.add(sql.rsplit(") & (", 1)[1].split(")'::tsquery")[0])
    return asked


def _status() -> str:
    out = io.StringIO()
    call_command("search", "status", stdout=out)
    return out.getvalue()


# --- what is collected and stored ----------------------------------------------------
def test_documents_carry_the_queue_its_group_and_whose_own_ticket_it_is(
    desk, alice, lawyer
):
    t = ticket(desk["legal"], "kestrel")
    watcher = make_agent("wanda")
    admin.grant(desk["legal_group"], [Permission.RO], agent=watcher)
    with committed():
        locks.set_owner(lawyer, t.pk, lawyer)
        tickets.watch_ticket(watcher, t.pk)
    bare = make_ticket(desk["info"], title="No articles", body="x")
    bare.articles.all().delete()

    (doc,) = indexer.collect_documents([t.pk], access=True)
    assert (doc.queue_id, doc.group_id) == (desk["legal"].pk, desk["legal_group"].pk)
    assert doc.agent_ids == tuple(sorted([lawyer.pk, watcher.pk]))
    (plain,) = indexer.collect_documents([t.pk])
    assert (plain.queue_id, plain.group_id, plain.agent_ids) == (None, None, ())
    (untexted,) = indexer.collect_documents([bare.pk], access=True)
    assert (untexted.queue_id, untexted.group_id, untexted.agent_ids) == (
        desk["info"].pk,
        desk["support"].pk,
        (),
    )


def test_the_access_lexemes_are_stored_without_positions():
    doc = TicketDocument(
        ticket_id=1,
        title="Photo",
        articles=[ArticleText(body="a photo")],
        queue_id=12,
        group_id=3,
        agent_ids=(5, 7),
    )
    literal = postgres.tsvector_literal(doc)
    parts = literal.split(" ")
    for lexeme in ("'q:12'", "'g:3'", "'u:5'", "'u:7'"):
        assert lexeme in parts  # no ":position" after it
    assert "'photo':1,4" in parts
    bare = postgres.tsvector_literal(TicketDocument(1, "Photo")).split(" ")
    assert sorted(bare) == ["'photo':1", "'t:photo':1"]  # nothing collected


def test_reading_access_names_groups_and_the_queues_that_moved(desk, alice, lawyer):
    assert reading_access(alice) == ReadingAccess(
        (desk["support"].pk,), (), everything=False
    )
    # A queue moved to alice's group by a bulk update: its entries name the old
    # group until a rebuild, so it is named itself.
    Queue.objects.filter(pk=desk["legal"].pk).update(group=desk["support"])
    assert reading_access(alice) == ReadingAccess(
        (desk["support"].pk,), (desk["legal"].pk,), everything=True
    )
    assert reading_access(lawyer).group_ids == ()
    alice.is_active = False
    assert reading_access(alice) == ReadingAccess((), (), everything=False)


# --- every change of who may see a ticket reaches the index --------------------------
def test_a_moved_ticket_is_found_by_the_new_queues_readers_only(desk, alice, lawyer):
    mover = make_agent("mover")
    for group in (desk["support"], desk["legal_group"]):
        admin.grant(group, [Permission.RW], agent=mover)
    t = ticket(desk["info"], "a pangolin here")
    for query in ("pangolin", '"a pangolin"'):
        assert numbers(alice, query) == [t.number]
        assert numbers(lawyer, query) == []
    with committed():
        tickets.move_ticket(mover, t.pk, desk["legal"])
    for query in ("pangolin", '"a pangolin"'):
        assert numbers(alice, query) == []
        assert numbers(lawyer, query) == [t.number]


def test_an_owner_responsible_or_watcher_without_the_queue_finds_nothing(
    desk, alice, lawyer
):
    """Owning, being responsible or watching gives no access: once the grant is
    gone, a search (narrowed by the index on PostgreSQL) finds none of them."""
    olga = make_agent("olga")
    admin.grant(desk["legal_group"], [Permission.RW], agent=olga)
    owned = ticket(desk["legal"], "quokka owned")
    responsible = ticket(desk["legal"], "quokka responsible")
    watched = ticket(desk["legal"], "quokka watched")
    ticket(desk["legal"], "quokka hidden")
    with committed():
        locks.set_owner(lawyer, owned.pk, olga)
        locks.set_responsible(lawyer, responsible.pk, olga)
        tickets.watch_ticket(olga, watched.pk)
    assert len(numbers(olga, "quokka")) == 4
    with committed():
        admin.revoke(desk["legal_group"], [Permission.RW], agent=olga)
    for query in ("quokka", '"quokka owned"', '"quokka watched"'):
        assert numbers(olga, query) == [], query
    assert numbers(alice, "quokka") == []


def test_an_agent_who_reads_no_queue_looks_up_nothing(desk, alice):
    """Narrowing for an agent without any readable queue asks the index for no
    group (the ``u:`` lexemes of its own tickets are not asked for either)."""
    nobody = make_agent("nobody")
    ticket(desk["legal"], "an ocelot")
    assert numbers(nobody, '"an ocelot"') == []
    if connection.vendor == "postgresql":
        assert _asks_for(nobody, '"an ocelot"') == {"'q:0'"}


def test_a_queue_given_to_another_group_is_searched_under_it_at_once(
    desk, alice, lawyer
):
    make_queue("press", group=make_group("Press"))  # alice will not read them all
    t = ticket(desk["legal"], "a capybara here")
    phrase = '"a capybara"'
    assert numbers(alice, phrase) == []
    legal = Queue.objects.get(pk=desk["legal"].pk)
    legal.group = desk["support"]
    with committed():  # as the admin site saves it; the rebuild runs after commit
        legal.save()
        # Before the rebuild: the entries name the old group, the queue counts
        # as moved and is asked for by itself.
        assert Queue.objects.get(pk=legal.pk).search_group_id is None
        assert numbers(alice, phrase) == [t.number]
    assert Queue.objects.get(pk=legal.pk).search_group_id == desk["support"].pk
    assert numbers(alice, phrase) == [t.number]
    assert numbers(lawyer, phrase) == []
    if connection.vendor == PG:  # rebuilt: the entry names the new group
        assert _asks_for(alice, phrase) == {f"'g:{desk['support'].pk}'"}


def test_bulk_updates_of_the_group_still_find_the_tickets(desk, alice, lawyer):
    make_queue("press", group=make_group("Press"))  # alice will not read them all
    legal = desk["legal"].pk
    t = ticket(desk["legal"], "a coati here")
    phrase = '"a coati"'
    # No signal, no rebuild: the queue's entries name the old group.
    Queue.objects.filter(pk=legal).update(group=desk["support"])
    assert numbers(alice, phrase) == [t.number]
    if connection.vendor == PG:  # asked for by the queue itself
        assert _asks_for(alice, phrase) == {f"'g:{desk['support'].pk}' | 'q:{legal}'"}
    # One entry rebuilt under the new group, then the group put back: the queue
    # must not look settled (PostgreSQL clears its search_group on every change
    # of group), or the lawyer would miss that ticket.
    indexer.reindex_tickets([t.pk])
    Queue.objects.filter(pk=legal).update(group=desk["legal_group"])
    assert numbers(lawyer, phrase) == [t.number]
    indexer.reindex_all(learn=False)
    assert Queue.objects.get(pk=legal).search_group_id == desk["legal_group"].pk
    assert numbers(lawyer, phrase) == [t.number]
    assert numbers(alice, phrase) == []


def test_a_queue_rebuild_overtaken_by_another_change_of_group_settles_nothing(
    desk, monkeypatch
):
    legal = Queue.objects.get(pk=desk["legal"].pk)
    ticket(desk["legal"], "an agouti here")
    legal.group = desk["support"]
    legal.save()
    rebuild = indexer.reindex_tickets

    def meanwhile(ids):
        rebuild(ids)
        Queue.objects.filter(pk=legal.pk).update(group=desk["legal_group"])

    monkeypatch.setattr(indexer, "reindex_tickets", meanwhile)
    indexer.reindex_queue(legal.pk)
    moved = Queue.objects.get(pk=legal.pk)
    assert moved.group_id == desk["legal_group"].pk
    assert moved.search_group_id != moved.group_id  # the next rebuild settles it
    monkeypatch.setattr(indexer, "reindex_tickets", rebuild)
    indexer.reindex_queue(legal.pk)
    assert Queue.objects.get(pk=legal.pk).search_group_id == desk["legal_group"].pk


def test_writing_entries_holds_their_queues_group(desk):
    t = ticket(desk["info"], "a tayra here")
    with CaptureQueriesContext(connection) as captured:
        indexer.reindex_tickets([t.pk])
    sql = [q["sql"] for q in captured.captured_queries]
    held = [i for i, q in enumerate(sql) if "FOR SHARE" in q]
    if connection.vendor != PG:
        assert held == []  # SQLite writes one at a time and does not narrow
        return
    # Before the queue's group is read, in the transaction that writes the entry.
    assert held and "helpline_queue" in sql[held[0]]
    read = [i for i, q in enumerate(sql) if '"helpline_queue"."group_id"' in q]
    assert read and held[0] < read[0]


# --- searches ask the index for the agent's access, once it is complete --------------
def test_a_search_asks_the_index_for_the_agents_groups_and_own_tickets(
    desk, alice, lawyer
):
    ticket(desk["info"], "an ocelot here")
    if connection.vendor != PG:  # FTS5 has no access to narrow by
        assert not get_backend().indexes_access
        assert _asks_for(lawyer, '"an ocelot"') == set()
        assert numbers(alice, '"an ocelot"')
        return
    support, legal = desk["support"].pk, desk["legal_group"].pk
    assert _asks_for(lawyer, '"an ocelot"') == {f"'g:{legal}'"}
    for query in ('"an ocelot"', '"an ocelot" -lynx', 'title:"a question"', '"a b c"'):
        assert _asks_for(alice, query) == {f"'g:{support}'"}, query
    for query in ("ocelot", "ocelot -lynx", "ocelot oce*", "title:ocelot"):
        assert _asks_for(alice, query) == {f"'g:{support}'"}, query
    # Not words that are all common, or prefixes (their postings cost more to
    # narrow than the rows they spare), nor exclusions only.
    CommonWord.objects.create(word="ocelot", share=0.3, ready=True)
    for query in ("ocelot", "ocelot oce*", "oce*", "-ocelot", '-"an ocelot"'):
        assert _asks_for(alice, query) == set(), query
    assert _asks_for(alice, "ocelot lynx") == {f"'g:{support}'"}
    # An agent who reads every queue: nothing to narrow.
    admin.grant(desk["legal_group"], [Permission.RO], agent=alice)
    assert _asks_for(alice, '"an ocelot"') == set()


def test_the_index_is_relied_on_only_once_every_entry_has_the_access(desk, alice):
    t = ticket(desk["info"], "a tapir here")
    # An entry written before the access was indexed (an upgraded database).
    get_backend().replace([t.pk], indexer.collect_documents([t.pk]))
    IndexState.objects.filter(pk=1).update(complete_format=1)
    forget_index_state()
    assert not access_indexed(connection)
    if connection.vendor == PG:
        assert "not in every entry: run reindex" in _status()
    assert _asks_for(alice, '"a tapir"') == set()
    assert numbers(alice, '"a tapir"') == [t.number]
    indexer.reindex_all(learn=False)
    assert IndexState.objects.get(pk=1).complete_format == ENTRY_FORMAT
    assert access_indexed(connection)
    if connection.vendor == PG:
        assert "Who may see each ticket: in the index" in _status()
        assert _asks_for(alice, '"a tapir"')
    assert numbers(alice, '"a tapir"') == [t.number]


def test_a_rebuild_that_fails_leaves_the_index_not_relied_on(desk, alice, monkeypatch):
    ticket(desk["info"], "gecko")
    IndexState.objects.filter(pk=1).update(complete_format=1)
    forget_index_state()

    def broken(ids, docs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(get_backend()), "replace", lambda self, i, d: broken(i, d))
    with pytest.raises(RuntimeError):
        indexer.reindex_all(learn=False)
    assert IndexState.objects.get(pk=1).complete_format == 1
    assert not access_indexed(connection)


def test_the_index_narrows_the_lookup(desk, lawyer):
    """On PostgreSQL an entry without the agent's access is not found, though the
    ticket is visible: the lookup is narrowed in the index (the proof that it is;
    such an entry only exists until the job after a change has run)."""
    t = ticket(desk["legal"], "a dugong here")
    get_backend().replace([t.pk], indexer.collect_documents([t.pk]))
    narrowed = connection.vendor == PG
    assert numbers(lawyer, '"a dugong"') == ([] if narrowed else [t.number])
    assert numbers(lawyer, "dugong") == ([] if narrowed else [t.number])
    indexer.reindex_tickets([t.pk])
    assert numbers(lawyer, '"a dugong"') == [t.number]


# --- the upgrade ----------------------------------------------------------------------
def test_the_migration_trusts_the_access_only_without_tickets(desk):
    migration = importlib.import_module("helpline.migrations.0016_index_state")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    IndexState.objects.all().delete()
    migration.first_state(apps, editor)
    assert IndexState.objects.get(pk=1).complete_format == 2
    make_ticket(desk["info"])
    IndexState.objects.all().delete()
    migration.first_state(apps, editor)
    assert IndexState.objects.get(pk=1).complete_format == 1
