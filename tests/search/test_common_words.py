"""Common words: learnt from the tickets, their adjacent pairs indexed (PostgreSQL), so
that a phrase of common words is looked up by its pair.  Whatever the index learnt,
a phrase finds exactly the tickets whose text has its words next to each other."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.actions.admin import get_agent
from helpline.models import CommonWord, Ticket
from helpline.search import indexer, postgres, search_tickets
from helpline.search.base import ArticleText, TicketDocument, get_backend
from helpline.search.query import TextTerm, words
from tests.search import committed, email_from, numbers, reader_of, search_index
from tests.support import make_group, make_queue, make_ticket

PG = "postgresql"


@pytest.fixture(autouse=True)
def _index(db):
    yield from search_index()


@pytest.fixture
def queue(db):
    return make_queue("info-en", group=make_group("Support"))


@pytest.fixture
def alice(queue):
    return reader_of(queue.group, "alice")


def _doc(title: str, *bodies: str) -> TicketDocument:
    return TicketDocument(
        ticket_id=1, title=title, articles=[ArticleText(body=b) for b in bodies]
    )


def _lexemes(literal: str) -> set[str]:
    return {part.split("'")[1] for part in literal.split(" ")}


def _make_common(*common: str) -> None:
    """These words common and ready, and every entry rebuilt with their pairs."""
    CommonWord.objects.all().delete()
    CommonWord.objects.bulk_create(
        [CommonWord(word=w, share=0.5, ready=True) for w in common]
    )
    indexer.reindex_all(learn=False)


def _uses_pairs(agent, query: str) -> bool:
    """Whether the search looked up common pairs in the text (the title's own pairs,
    in ``title_words``, are another matter)."""
    with CaptureQueriesContext(connection) as captured:
        search_tickets(agent, query)
    return any(postgres.OVERFLOW in q["sql"] for q in captured.captured_queries)


# --- what is indexed (the PostgreSQL document, built in Python) -----------------------
def test_adjacent_common_words_are_stored_as_one_pair_without_positions():
    literal = postgres.tsvector_literal(
        _doc("Free licence", "a free licence for the photo", "photo free"),
        frozenset({"free", "licence", "photo"}),
    )
    lexemes = _lexemes(literal)
    assert {"p:free_licence", "p:photo_free"} <= lexemes
    assert "'p:free_licence'" in literal.split(" ")  # no positions
    assert "p:licence_for" not in lexemes  # "for" is not common
    assert "p:licence_photo" not in lexemes  # title and body are apart
    assert "p:photo_photo" not in lexemes  # two articles are apart
    # The words themselves are stored as without common words.
    assert lexemes - {"p:free_licence", "p:photo_free"} == _lexemes(
        postgres.tsvector_literal(
            _doc("Free licence", "a free licence for the photo", "photo free")
        )
    )


def test_past_its_pair_limit_a_document_is_marked_and_still_a_candidate(
    monkeypatch,
):
    monkeypatch.setattr(postgres, "MAX_COMMON_PAIRS", 2)
    literal = postgres.tsvector_literal(
        _doc("x", "a b c d"), frozenset({"a", "b", "c", "d"})
    )
    assert _lexemes(literal) >= {"p:a_b", "p:b_c", postgres.OVERFLOW}
    assert "p:c_d" not in _lexemes(literal)
    term = TextTerm(tokens=("c", "d"))
    assert f"'{postgres.OVERFLOW}'" in postgres.tsquery_term(
        term, words_only=True, common=frozenset({"c", "d"})
    )


def test_pairs_past_their_byte_budget_mark_the_document(monkeypatch):
    monkeypatch.setattr(postgres, "MAX_COMMON_PAIR_BYTES", 20)  # one pair: 12 bytes
    lexemes = _lexemes(
        postgres.tsvector_literal(_doc("x", "aa bb cc"), frozenset({"aa", "bb", "cc"}))
    )
    assert "p:aa_bb" in lexemes and postgres.OVERFLOW in lexemes
    assert "p:bb_cc" not in lexemes


def test_a_phrase_of_common_words_asks_for_their_pairs():
    common = frozenset({"free", "licence", "photo"})
    free_licence = TextTerm(tokens=("free", "licence"))
    assert postgres.tsquery_term(free_licence, words_only=True, common=common) == (
        "(('p:free_licence' | 'p:overflow'))"
    )
    # Two common words: the pair is the phrase (positions only past the pairs).
    assert postgres.tsquery_term(free_licence, common=common) == (
        "('p:free_licence' | ('p:overflow' & ('free' <-> 'licence')))"
    )
    assert postgres.exact_by_pairs([free_licence], [], common)
    # Three: the pairs narrow, the positions decide.
    three = TextTerm(tokens=("photo", "free", "licence"))
    assert postgres.tsquery_term(three, common=common) == (
        "(('p:photo_free' | 'p:overflow') & ('p:free_licence' | 'p:overflow') & "
        "('photo' <-> 'free' <-> 'licence'))"
    )
    assert not postgres.exact_by_pairs([three], [], common)
    assert not postgres.exact_by_pairs([], [free_licence], common)
    # A word that is not common keeps its own lexeme; a prefix is never paired.
    mixed = TextTerm(tokens=("a", "free", "licence"))
    assert postgres.tsquery_term(mixed, words_only=True, common=common) == (
        "(('p:free_licence' | 'p:overflow') & 'a')"
    )
    prefix = TextTerm(tokens=("free", "lic"), prefix=True)
    assert postgres.tsquery_term(prefix, words_only=True, common=common) == (
        "('free' & 'lic':*)"
    )
    # A field phrase: the pair (of the whole text) narrows, the field words decide.
    titled = TextTerm(tokens=("free", "licence"), field="title")
    assert postgres.tsquery_term(titled, common=common) == (
        "(('p:free_licence' | 'p:overflow') & ('t:free' <-> 't:licence'))"
    )
    assert not postgres.exact_by_pairs([titled], [], common)
    # Without common words, as before.
    assert postgres.tsquery_term(free_licence, words_only=True) == (
        "('free' & 'licence')"
    )


# --- searching with common words: the same results ------------------------------------
PHRASES = [
    '"free licence"',
    '"a free licence"',
    '"free licence photo"',
    '"free lic*"',
    'title:"free licence"',
    '"licence free"',
    'photo -"free licence"',
    '"free licence" "photo free"',
]


def test_phrases_find_the_same_tickets_with_common_words_as_without(queue, alice):
    texts = [
        ("Free licence", "Is this a free licence?"),
        ("Question", "The licence is free, the photo is not."),
        ("Photo", "A free licence photo, please."),
        ("Photo free", "free"),  # "free" ends the title, "licence" starts no text
        ("Licence", "licence free licence"),
        ("Other", "a freelance licence"),
        ("Free", "licence"),  # title and body are apart
    ]
    with committed():
        made = [make_ticket(queue, title=t, body=b) for t, b in texts]
    email_from(alice, made[5].pk, body="free")  # a new article is apart too
    indexer.reindex_all(learn=False)
    before = {q: numbers(alice, q) for q in PHRASES}
    assert before['"free licence"']  # the test searches for something
    _make_common("free", "licence", "photo", "a")
    after = {q: numbers(alice, q) for q in PHRASES}
    assert after == before
    uses_pairs = _uses_pairs(alice, '"free licence"')
    if connection.vendor == PG:
        assert uses_pairs
        assert search_tickets(alice, '"free licence"').total == len(
            before['"free licence"']
        )
    else:  # FTS5 has positions in its own index; nothing to learn
        assert not uses_pairs


def test_a_phrase_past_the_positions_is_found_by_its_pair(queue, alice):
    # PostgreSQL stores positions up to 16,383 (past them every word has the same
    # one) and 255 of them per word: past either, a phrase is not found by
    # positions (FTS5 has no such limits).  A pair has no position to run out of.
    filler = " ".join(f"w{n}" for n in range(17_000))
    with committed():
        late = make_ticket(queue, title="Long", body=f"{filler} a free licence")
        often = make_ticket(queue, title="Free", body="free " * 300 + "free licence")
    _make_common("free", "licence")
    assert sorted(numbers(alice, '"free licence"')) == sorted(
        [late.number, often.number]
    )
    assert search_tickets(alice, '"free licence"').total == 2


@pytest.mark.parametrize("common", [False, True])
def test_a_phrase_with_a_filter_nothing_passes_finds_nothing(queue, alice, common):
    with committed():
        make_ticket(queue, title="x", body="a free licence photo")
    if common:
        _make_common("free", "licence", "photo")
    for query in ('"free licence" queue:nope', '"a free licence" queue:nope'):
        result = search_tickets(alice, query)
        assert (result.ticket_ids, result.total) == ([], 0)


def test_a_ticket_out_of_pairs_is_still_found_by_positions(queue, alice, monkeypatch):
    monkeypatch.setattr(postgres, "MAX_COMMON_PAIRS", 1)
    with committed():
        t = make_ticket(queue, title="x", body="free licence photo copy")
        make_ticket(queue, title="y", body="photo free")
    _make_common("free", "licence", "photo", "copy")
    # The first ticket has the pair free_licence, then ran out: photo_copy is
    # found by positions in it; in the second, photo_free is its only pair.
    assert numbers(alice, '"photo copy"') == [t.number]
    assert numbers(alice, '"licence photo"') == [t.number]
    assert numbers(alice, '"copy photo"') == []


def test_words_not_ready_are_not_relied_on(queue, alice):
    with committed():
        t = make_ticket(queue, title="A free licence", body="Hello")
    CommonWord.objects.bulk_create(
        [CommonWord(word=w, share=0.5, ready=False) for w in ("free", "licence")]
    )
    # Entries written before the words were learnt have no pairs: a search must
    # not rely on them until a rebuild says every entry has them.
    assert numbers(alice, '"free licence"') == [t.number]
    assert not _uses_pairs(alice, '"free licence"')


def test_a_ticket_indexed_after_learning_gets_the_pairs(queue, alice):
    _make_common("bank", "transfer")
    with committed():
        t = make_ticket(queue, title="Payment", body="Please use a bank transfer.")
    assert numbers(alice, '"bank transfer"') == [t.number]
    if connection.vendor == PG:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT search_document @@ '''p:bank_transfer'''::tsquery "
                "FROM helpline_ticket WHERE id = %s",
                [t.pk],
            )
            assert cursor.fetchone() == (True,)


# --- learning -------------------------------------------------------------------------
def _sample(count: int) -> list[TicketDocument]:
    docs = []
    for n in range(count):
        body = "the photo " + ("free licence " if n % 2 else "") + f"word{n}"
        docs.append(_doc(f"Ticket {n}", body))
    return docs


def test_learning_keeps_the_words_in_enough_tickets_most_common_first(monkeypatch, db):
    monkeypatch.setattr(postgres, "MIN_SAMPLE", 10)
    monkeypatch.setattr(postgres, "COMMON_SHARE", 0.4)
    monkeypatch.setattr(postgres, "MAX_COMMON_WORDS", 4)
    backend = get_backend()
    learnt = backend.learn_common_words(_sample(20))
    if connection.vendor != PG:
        assert (learnt, backend.learns_common_words) == ([], False)
        assert not CommonWord.objects.exists()
        return
    # In every ticket: ticket, the, photo; in half: free, licence; word<n>: once.
    assert set(learnt) <= {"ticket", "the", "photo", "free", "licence"}
    assert len(learnt) == 4
    assert set(learnt[:3]) == {"ticket", "the", "photo"}
    stored = {w.word: (w.share, w.ready) for w in CommonWord.objects.all()}
    assert stored["photo"] == (1.0, False)
    backend.common_words_ready(learnt)
    assert set(CommonWord.objects.values_list("ready", flat=True)) == {True}
    # Too small a sample: nothing is common (and what was learnt is forgotten).
    assert backend.learn_common_words(_sample(9)) == []
    assert not CommonWord.objects.exists()


def test_a_rebuild_makes_ready_only_the_words_it_learnt(monkeypatch, db):
    # Two reindexes at once: the first learnt W1 and rebuilt everything, but the
    # second learnt W2 meanwhile; the entries the first wrote before that lack the
    # pairs of W2's new words.  So the first makes only its own words ready.
    monkeypatch.setattr(postgres, "MIN_SAMPLE", 10)
    monkeypatch.setattr(postgres, "COMMON_SHARE", 0.4)
    backend = get_backend()
    first = backend.learn_common_words(_sample(20))
    second_sample = [_doc(f"Case {n}", "the bank transfer") for n in range(20)]
    second = backend.learn_common_words(second_sample)
    backend.common_words_ready(first)
    if connection.vendor != PG:
        assert (first, second) == ([], [])
        return
    ready = set(CommonWord.objects.filter(ready=True).values_list("word", flat=True))
    assert ready == set(first) & set(second) == {"the"}
    backend.common_words_ready(second)
    assert not CommonWord.objects.filter(ready=False).exists()


def test_reindex_learns_the_common_words_and_makes_them_ready(
    queue, alice, monkeypatch
):
    monkeypatch.setattr(postgres, "MIN_SAMPLE", 5)
    monkeypatch.setattr(postgres, "COMMON_SHARE", 0.5)
    with committed():
        made = [
            make_ticket(queue, title=f"Case {n}", body=f"a bank transfer of {n}")
            for n in range(6)
        ]
    out = io.StringIO()
    call_command("search", "reindex", stdout=out, stderr=io.StringIO())
    status = io.StringIO()
    call_command("search", "status", "--json", stdout=status)
    data = json.loads(status.getvalue())
    assert sorted(numbers(alice, '"bank transfer"')) == sorted(t.number for t in made)
    if connection.vendor != PG:
        assert out.getvalue() == "Indexed 6 tickets.\n"
        assert "common_words" not in data
        return
    assert "common words" in out.getvalue()
    assert data["common_words"]["ready"] is True
    assert {"bank", "transfer", "case"} <= set(data["common_words"]["most_common"])
    assert _uses_pairs(alice, '"bank transfer"')


def test_a_rebuild_that_fails_leaves_the_new_words_unused(queue, alice, monkeypatch):
    monkeypatch.setattr(postgres, "MIN_SAMPLE", 2)
    monkeypatch.setattr(postgres, "COMMON_SHARE", 0.5)
    with committed():
        for n in range(3):
            make_ticket(queue, title=f"Case {n}", body="a bank transfer")

    def broken(ids):
        raise RuntimeError("disk full")

    monkeypatch.setattr(indexer, "reindex_tickets", broken)
    with pytest.raises(RuntimeError):
        indexer.reindex_all()
    if connection.vendor == PG:
        assert CommonWord.objects.filter(word="bank", ready=False).exists()
    assert not CommonWord.objects.filter(ready=True).exists()
    assert not _uses_pairs(alice, '"bank transfer"')


# --- the benchmark's data: a phrase finds exactly the tickets with it -----------------
def _has_phrase(doc: TicketDocument, phrase: tuple[str, ...]) -> bool:
    texts = [doc.title]
    for a in doc.articles:
        texts += [a.subject, a.sender, a.recipients, a.body, *a.attachments]
    size = len(phrase)
    for text in texts:
        tokens = words(text)
        if any(
            tuple(tokens[i : i + size]) == phrase for i in range(len(tokens) - size + 1)
        ):
            return True
    return False


def test_on_seeded_data_a_phrase_finds_exactly_the_tickets_that_have_it(db):
    call_command(
        "bench",
        "seed",
        "--tickets",
        "3000",
        "--chunk",
        "1000",
        "--workers",
        "1",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    agent = get_agent("bench")
    if connection.vendor == PG:  # the seed learns from its own data, as reindex does
        assert CommonWord.objects.filter(ready=True).count() > 10
        assert not CommonWord.objects.filter(ready=False).exists()
    else:
        assert not CommonWord.objects.exists()
    visible = list(Ticket.objects.visible_to(agent).values_list("pk", flat=True))
    docs = indexer.collect_documents(visible)
    for phrase in ("free licence", "bank transfer", "wikimedia commons"):
        expected = {d.ticket_id for d in docs if _has_phrase(d, tuple(phrase.split()))}
        result = search_tickets(agent, f'"{phrase}"', archived=None, limit=1000)
        assert expected  # the seed puts these phrases in some tickets
        assert set(result.ticket_ids) == expected
        assert (result.total, result.total_capped) == (len(expected), False)
    if connection.vendor == PG:  # both words are common in the seeded text
        assert CommonWord.objects.filter(word__in=("free", "licence")).count() == 2
        assert _uses_pairs(agent, '"free licence"')
