"""``File:Lucia_3.jpg`` unquoted, from every entry point: the web search, the API and
the command line find the file and show the hint that "File:" was searched as text.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from helpline.search import search_tickets
from tests.api.conftest import client_for
from tests.search import committed, reader_of, search_index
from tests.support import make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db

HINT = '"File:" is not a search field, so "File:Lucia_3.jpg" was searched as text.'


@pytest.fixture(autouse=True)
def _index(db):
    yield from search_index()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def desk(db):
    support, legal = make_group("Support"), make_group("Legal")
    info, legal_queue = (
        make_queue("permissions", group=support),
        make_queue("legal", group=legal),
    )
    alice = reader_of(support, "alice")
    with committed():
        found = make_ticket(
            info,
            title="Permission for File:Lucia_3.jpg",
            body="I release File:Lucia_3.jpg under CC BY-SA 4.0.",
        )
        make_ticket(info, title="Another photo", body="File:Lucia_4.jpg")
        make_ticket(legal_queue, title="File:Lucia_3.jpg in court")
    return alice, found


def test_the_engine_finds_it_and_says_how(desk):
    alice, found = desk
    result = search_tickets(alice, "File:Lucia_3.jpg")
    assert result.ticket_ids == [found.pk]
    assert result.hints == [HINT]
    assert search_tickets(alice, "lucia").total == 2
    assert search_tickets(alice, "lucia").hints == []


def test_the_web_search_shows_the_hint_above_the_results(desk, client):
    alice, found = desk
    client.force_login(alice)
    response = client.get(reverse("search"), {"q": "File:Lucia_3.jpg"})
    assert response.status_code == 200
    assert [t.number for t in response.context["rows"]] == [found.number]
    page = response.content.decode()
    assert "is not a search field" in page and "Lucia_3.jpg" in page


def test_the_api_answers_with_the_hint(desk):
    alice, found = desk
    page = client_for(alice).get("/tickets?q=File:Lucia_3.jpg").json()
    assert [t["number"] for t in page["items"]] == [found.number]
    assert page["hints"] == [HINT]
    assert client_for(alice).get("/tickets?q=lucia").json()["hints"] == []


def test_the_command_line_prints_the_hint(desk):
    _, found = desk
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "ticket", "search", "File:Lucia_3.jpg", "--as", "alice", stdout=out, stderr=err
    )
    assert found.number in out.getvalue()
    assert HINT in err.getvalue()
    out = io.StringIO()
    call_command(
        "ticket", "search", "File:Lucia_3.jpg", "--as", "alice", "--json", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["hints"] == [HINT]
    assert [t["number"] for t in data["tickets"]] == [found.number]
