"""The search syntax: what a query means, and that no input breaks the search."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpline.actions import admin
from helpline.errors import InvalidInput
from helpline.search import indexer, search_tickets
from helpline.search.postgres import tsquery_literal
from helpline.search.query import Filter, TextTerm, parse_query, words
from helpline.search.sqlite_fts import fts_expression
from tests.support import make_agent, make_group, make_queue, make_ticket


def test_words_are_folded_and_split_at_anything_but_letters_and_digits():
    assert words("Zażółć GĘŚLĄ jaźń") == ["zazołc", "gesla", "jazn"]
    assert words("jane.doe@example.net, e-mail_2026") == [
        "jane",
        "doe",
        "example",
        "net",
        "e",
        "mail",
        "2026",
    ]
    # Marks are removed from Latin letters only: ガ stays ガ, not カ (Japanese is
    # cut into pairs of characters, the last alone: scripts.py).
    assert words("ガス café") == ["ガス", "ス", "cafe"]
    # Decomposed input (e + combining acute) folds like composed input.
    assert words("cafe\u0301") == ["cafe"]


def test_a_query_splits_into_words_phrases_prefixes_and_exclusions():
    parsed = parse_query('refund "bank transfer" zaż* -spam -"cheap pills"')
    assert parsed.terms == [
        TextTerm(tokens=("refund",)),
        TextTerm(tokens=("bank", "transfer")),
        TextTerm(tokens=("zaz",), prefix=True),
        TextTerm(tokens=("spam",), negated=True),
        TextTerm(tokens=("cheap", "pills"), negated=True),
    ]
    assert parsed.has_text


def test_fields_take_quoted_values_and_negation():
    parsed = parse_query('state:"closed successful" -queue:info-en title:"a bc"*')
    assert parsed.filters == [
        Filter("state", "closed successful"),
        Filter("queue", "info-en", negated=True),
    ]
    assert parsed.terms == [TextTerm(("a", "bc"), prefix=True, field="title")]


def test_priority_comparisons_become_sets_of_priorities():
    def value(q: str) -> object:
        return parse_query(q).filters[0].value

    assert value("priority:4") == (4,)
    assert value("priority:>=4") == (4, 5)
    assert value("priority:>4") == (5,)
    assert value("priority:<2") == (1,)
    assert value("priority:2..3") == (2, 3)


def test_dates_become_half_open_ranges_in_local_time():
    tz = timezone.get_current_timezone()
    jan1 = datetime(2026, 1, 1, tzinfo=tz)
    day = timedelta(days=1)

    def value(q: str) -> object:
        return parse_query(q).filters[0].value

    assert value("created:2026-01-01") == (jan1, jan1 + day)
    assert value("created:>2026-01-01") == (jan1 + day, None)
    assert value("created:>=2026-01-01") == (jan1, None)
    assert value("created:<2026-01-01") == (None, jan1)
    assert value("created:<=2026-01-01") == (None, jan1 + day)
    assert value("closed:2026-01-01..2026-01-31") == (jan1, jan1 + 31 * day)
    assert value("changed:2026-01-01..") == (jan1, None)
    moment = datetime(2026, 1, 1, 14, 30, tzinfo=tz)
    assert value("changed:>=2026-01-01T14:30") == (moment, None)


def test_archived_in_the_query_overrides_the_default():
    assert parse_query("x archived:yes").archived_or(False) is True
    assert parse_query("x archived:any").archived_or(False) is None
    assert parse_query("x -archived:yes").archived_or(None) is False
    assert parse_query("x").archived_or(False) is False


def test_colons_that_are_not_fields_stay_text():
    parsed = parse_query("Re: hello https://example.org/x")
    assert [t.tokens for t in parsed.terms] == [
        ("re",),
        ("hello",),
        ("https", "example", "org", "x"),
    ]
    assert parse_query('"staet:open"').terms == [TextTerm(("staet", "open"))]


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_a_word_before_a_colon_that_is_no_field_is_text_with_a_hint(english):
    parsed = parse_query("File:Lucia_3.jpg queue:info-en")
    assert parsed.terms == [TextTerm(("file", "lucia", "3", "jpg"))]
    assert parsed.filters == [Filter("queue", "info-en")]
    assert parsed.hints == [
        '"File:" is not a search field, so "File:Lucia_3.jpg" was searched as text.'
    ]
    # Quoted, starred and negated as any text; a known field is no hint.
    assert parse_query('File:"Lucia 3.jpg" -Category:Cats Image:Luc*').terms == [
        TextTerm(("file", "lucia", "3", "jpg")),
        TextTerm(("category", "cats"), negated=True),
        TextTerm(("image", "luc"), prefix=True),
    ]
    assert parse_query("title:lynx state:open").hints == []


def test_a_mistyped_field_is_text_and_the_hint_names_the_field(english):
    parsed = parse_query("staet:open")
    assert parsed.terms == [TextTerm(("staet", "open"))]
    assert parsed.filters == []
    [hint] = parsed.hints
    assert hint.endswith("Did you mean state:?")
    assert "Did you mean" not in parse_query("File:x.jpg").hints[0]


def test_the_hint_speaks_the_agents_language():
    with translation.override("de"):
        [hint] = parse_query("staet:open").hints
    assert hint == (
        "„staet:“ ist kein Suchfeld, daher wurde „staet:open“ als Text gesucht. "
        "Meinten Sie state:?"
    )


def test_an_empty_query_matches_everything():
    parsed = parse_query("   ")
    assert parsed.terms == [] and parsed.filters == []


def test_user_text_never_becomes_engine_syntax():
    parsed = parse_query('NEAR OR AND NOT "x" title:yo* -z')
    assert fts_expression(parsed.positive_terms, parsed.negative_terms) == (
        '(("near") AND ("or") AND ("and") AND ("not") AND ("x") AND ({title} : "yo"*))'
        ' NOT (("z"))'
    )
    assert tsquery_literal(parsed.positive_terms, parsed.negative_terms) == (
        "'near' & 'or' & 'and' & 'not' & 'x' & 't:yo':* & !'z'"
    )


@pytest.mark.parametrize(
    "query",
    [
        '"open',
        "priority:0",
        "priority:high",
        "created:2026-13-01",
        "created:2026-02-01..2026-01-01",
        "archived:maybe",
        "-archived:any",
        "title:",
        "title:!!",
        "*",
        'a"b "c',
        "x " * 40,
        "y" * 1001,
    ],
)
def test_bad_queries_raise_invalid_input(query):
    with pytest.raises(InvalidInput):
        parse_query(query)


# --- no input breaks the search -------------------------------------------------------
ALPHABET = st.sampled_from(
    list("abcxyz019 \"'-*:()<>=.@_\\%{}^~&|!") + ["ż", "é", "ß", "ガ", "\u0301", "\t"]
)
PIECES = st.sampled_from(
    [
        "title:",
        "from:",
        "queue:",
        "state:",
        "priority:",
        "created:",
        "archived:",
        "owner:",
        "customer:",
        "NEAR",
        "OR",
        "NOT",
        "AND",
        " -",
        '"',
        "*",
        "..",
        ">=",
    ]
)
QUERIES = st.lists(st.one_of(ALPHABET, PIECES), max_size=25).map("".join)


@pytest.fixture
def searcher(db):
    queue = make_queue("info-en", group=make_group("Support"))
    agent = make_agent("fuzzer")
    admin.grant(queue.group, ["rw"], agent=agent)
    t = make_ticket(queue, title="Zażółć title: OR", body='bank "transfer" NEAR x*')
    indexer.reindex_tickets([t.pk])
    return agent


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=QUERIES)
def test_any_input_is_a_result_or_a_clear_error(searcher, query):
    """Whatever is typed, the database never sees broken syntax."""
    try:
        result = search_tickets(searcher, query, limit=5)
    except InvalidInput as exc:
        assert exc.message
    else:
        assert result.total >= len(result.ticket_ids)
