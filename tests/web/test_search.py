"""The search page: its contract with ``helpline.search``, number jumps, the form.

The engine is replaced by a stand-in here, to pin down what the page does with what
the engine returns (results re-read through ``visible_to``, errors shown, paging).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from django.urls import reverse

from helpline.errors import InvalidInput
from helpline.web.views import search as search_view
from tests.web import build_world, email_ticket, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


@dataclass
class Result:
    ticket_ids: list[int]
    total: int
    total_capped: bool = False
    hints: list[str] = field(default_factory=list)


class StandIn:
    """Answers every query with ``ids``; records how it was called."""

    def __init__(self, ids):
        self.ids = ids
        self.calls = []

    def parse_query(self, query):
        if query.startswith("bad:"):
            raise InvalidInput("Unknown field 'bad'.")
        return query

    def search_tickets(self, agent, query, **kwargs):
        self.parse_query(query)
        self.calls.append((agent, query, kwargs))
        return Result(self.ids, total=len(self.ids) + 40)


def test_without_an_engine_the_page_says_search_is_not_available(
    alice_client, monkeypatch
):
    monkeypatch.setattr(search_view, "engine", lambda: None)
    response = alice_client.get(reverse("search"), {"q": "licence"})
    assert b"Search is not available yet." in response.content


def test_a_ticket_number_opens_the_ticket(alice_client, world, monkeypatch):
    monkeypatch.setattr(search_view, "engine", lambda: None)
    response = alice_client.get(reverse("search"), {"q": world.ticket.number})
    assert response["Location"] == reverse("zoom", args=[world.ticket.number])


def test_a_hidden_tickets_number_does_not_open_it(alice_client, world, monkeypatch):
    monkeypatch.setattr(search_view, "engine", lambda: None)
    response = alice_client.get(reverse("search"), {"q": world.hidden.number})
    assert response.status_code == 200
    assert b"Secret matter" not in response.content


def test_results_are_shown_in_the_engines_order_and_only_if_visible(
    alice_client, world, monkeypatch
):
    other = email_ticket(world.info, title="Another")
    engine = StandIn([other.pk, world.hidden.pk, world.ticket.pk])
    monkeypatch.setattr(search_view, "engine", lambda: engine)
    response = alice_client.get(
        reverse("search"), {"q": "question", "page": 2, "size": 25, "archived": "1"}
    )
    assert [t.pk for t in response.context["rows"]] == [other.pk, world.ticket.pk]
    assert b"Secret matter" not in response.content
    agent, query, kwargs = engine.calls[0]
    assert (agent, query) == (world.alice, "question")
    assert kwargs == {"archived": None, "order": "relevance", "limit": 25, "offset": 25}
    assert response.context["total"] == 43


@pytest.mark.parametrize(
    ("capped", "rows", "has_next"),
    [(True, 25, True), (True, 3, False), (False, 25, False)],
)
def test_a_lower_bound_total_keeps_a_next_page_while_pages_are_full(
    alice_client, world, monkeypatch, capped, rows, has_next
):
    class Capped(StandIn):
        def search_tickets(self, agent, query, **kwargs):
            self.calls.append((agent, query, kwargs))
            ids = [world.ticket.pk] * rows
            return Result(ids, total=30, total_capped=capped)

    monkeypatch.setattr(search_view, "engine", lambda: Capped([]))
    response = alice_client.get(
        reverse("search"), {"q": '"bank transfer"', "page": 2, "size": 25}
    )
    page = response.context["page"]
    assert (page.pages, page.has_next) == (2, has_next)
    assert (b'rel="next"' in response.content) is has_next
    assert (b"Page 2 of 2+" in response.content) is capped
    assert (b"(at least)" in response.content) is capped


def test_an_invalid_query_is_explained(alice_client, monkeypatch):
    monkeypatch.setattr(search_view, "engine", lambda: StandIn([]))
    response = alice_client.get(reverse("search"), {"q": "bad:thing"})
    assert response.status_code == 400
    assert b"Unknown field" in response.content


def test_the_advanced_form_builds_a_query():
    query = search_view.build_query(
        {
            "words": "photo licence",
            "queue": "Info::Sub",
            "state": "closed successful",
            "priority": 4,
            "owner": "alice",
            "customer": "",
            "created_from": date(2024, 1, 1),
            "created_to": None,
        }
    )
    assert query == (
        'photo licence queue:"Info::Sub" state:"closed successful" '
        "owner:alice priority:4 created:>=2024-01-01"
    )


def test_the_advanced_form_redirects_to_the_search(alice_client):
    response = alice_client.get(
        reverse("search-advanced"), {"words": "photo", "owner": "bob", "archived": "on"}
    )
    assert response["Location"] == (
        reverse("search") + "?q=photo+owner%3Abob&archived=1"
    )


def test_an_empty_advanced_form_asks_for_a_field(alice_client):
    response = alice_client.get(reverse("search-advanced"), {"words": ""})
    assert response.status_code == 200
    assert b"Fill in at least one field." in response.content


# --- with the real engine ---------------------------------------------------------------
@pytest.fixture
def indexed(world):
    """The search index rebuilt from the tickets as the test made them."""
    from helpline.search import indexer
    from helpline.search.base import get_backend

    get_backend().clear()

    def rebuild():
        indexer.reindex_all()

    yield rebuild
    get_backend().clear()


def test_the_search_box_finds_visible_tickets_by_their_words(
    alice_client, world, indexed
):
    wanted = email_ticket(world.info, title="Photo licence", body="Is it CC BY-SA?")
    email_ticket(world.secret, title="Photo licence too", body="Hidden from alice")
    indexed()
    response = alice_client.get(reverse("search"), {"q": "photo licence"})
    assert response.status_code == 200
    assert [t.pk for t in response.context["rows"]] == [wanted.pk]
    assert b"Hidden from alice" not in response.content
    assert b"Photo licence too" not in response.content


def test_the_advanced_form_finds_through_the_engine(alice_client, world, indexed):
    in_sub = email_ticket(world.sub, title="Deletion request", body="Please delete.")
    email_ticket(world.info, title="Deletion request", body="Please delete.")
    indexed()
    response = alice_client.get(
        reverse("search-advanced"),
        {"words": "deletion", "queue": "Info::Sub"},
        follow=True,
    )
    assert [t.pk for t in response.context["rows"]] == [in_sub.pk]


def test_archived_tickets_are_found_only_when_asked(alice_client, world, indexed):
    from helpline.actions import tickets

    old = email_ticket(world.info, title="Ancient history", body="From long ago.")
    tickets.close_ticket(world.alice, old.pk, note="done")
    tickets.archive_ticket(world.alice, old.pk)
    indexed()
    url = reverse("search")
    assert list(alice_client.get(url, {"q": "ancient"}).context["rows"]) == []
    found = alice_client.get(url, {"q": "ancient", "archived": "1"}).context["rows"]
    assert [t.pk for t in found] == [old.pk]


def test_a_syntax_error_is_explained_by_the_engine(alice_client, world, indexed):
    response = alice_client.get(reverse("search"), {"q": '"unclosed phrase'})
    assert response.status_code == 400
    assert b"A quote is not closed" in response.content
