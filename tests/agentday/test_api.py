"""The API side of mentions, out of office and saved searches."""

from __future__ import annotations

import pytest

from helpline.actions import admin, saved_searches
from helpline.actions.articles import add_note
from helpline.models import Mention, OutOfOffice, Permission, SavedSearch
from helpline.search import indexer
from tests.api.conftest import client_for, queries_for
from tests.support import make_ticket


@pytest.fixture(autouse=True)
def _api_urls(settings):
    settings.ROOT_URLCONF = "tests.api.urls"


@pytest.mark.django_db
def test_a_note_through_the_api_mentions_and_names_the_missed_ones(team):
    ticket = make_ticket(team.queue)
    api = client_for(team.alice)
    response = api.post(
        f"/tickets/{ticket.number}/articles",
        {"kind": "note", "text": "@bob look, @carol too, mail foo@bob.org"},
    )
    assert response.status_code == 201, response.content
    assert response["Helpline-Mentions-Not-Notified"] == "carol"
    assert list(Mention.objects.values_list("agent__username", flat=True)) == ["bob"]
    bob = client_for(team.bob)
    listed = bob.get("/me/mentions").json()
    assert [(m["number"], m["mentioned_by"]) for m in listed] == [
        (ticket.number, "alice")
    ]
    assert bob.delete(f"/me/mentions/{ticket.number}").status_code == 204
    assert bob.get("/me/mentions").json() == []


@pytest.mark.django_db
def test_reading_the_ticket_through_the_api_marks_the_mention_seen(team):
    ticket = make_ticket(team.queue)
    add_note(team.alice, ticket.pk, "@bob look")
    bob = client_for(team.bob)
    assert [m["number"] for m in bob.get("/me/mentions").json()] == [ticket.number]
    assert bob.get(f"/tickets/{ticket.number}").status_code == 200
    assert bob.get("/me/mentions").json() == []


@pytest.mark.django_db
def test_all_mentions_are_marked_done_through_the_api(team):
    for title in ("one", "two"):
        add_note(team.alice, make_ticket(team.queue, title=title).pk, "@bob look")
    bob = client_for(team.bob)
    assert len(bob.get("/me/mentions").json()) == 2
    response = bob.delete("/me/mentions")
    assert response.status_code == 200
    assert response.json() == {"dismissed": 2}
    assert bob.get("/me/mentions").json() == []
    assert bob.delete("/me/mentions").json() == {"dismissed": 0}


@pytest.mark.django_db
def test_a_mention_leaves_the_api_list_when_access_is_withdrawn(team):
    from helpline.models import Grant

    ticket = make_ticket(team.queue)
    add_note(team.alice, ticket.pk, "@bob look")
    Grant.objects.filter(agent=team.bob).delete()
    assert client_for(team.bob).get("/me/mentions").json() == []
    assert Mention.objects.filter(agent=team.bob).count() == 1  # kept, not shown


@pytest.mark.django_db
def test_mentions_of_a_hidden_ticket_cannot_be_dismissed(team):
    ticket = make_ticket(team.secret)
    carol = client_for(team.carol)
    assert carol.delete(f"/me/mentions/{ticket.number}").status_code == 404


@pytest.mark.django_db
def test_out_of_office_through_the_api(team):
    api = client_for(team.bob)
    assert api.get("/me/out-of-office").status_code == 404
    response = api.request(
        "PUT",
        "/me/out-of-office",
        {
            "start": "2026-12-24T09:00:00",
            "end": "2026-12-28T18:00:00",
            "time_zone": "Europe/Berlin",
            "substitute": "alice",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["substitute"] == "alice"
    assert body["start"].startswith("2026-12-24T08:00")
    bad = api.request(
        "PUT",
        "/me/out-of-office",
        {"start": "2026-12-24T09:00:00", "end": "2026-12-20T09:00:00"},
    )
    assert bad.status_code == 422
    assert "end after it starts" in bad.json()["error"]["message"]
    assert api.delete("/me/out-of-office").status_code == 204
    assert not OutOfOffice.objects.exists()


@pytest.mark.django_db
def test_saved_searches_through_the_api_count_as_the_caller(team):
    tickets = [
        make_ticket(team.queue, title="licence photo"),
        make_ticket(team.secret, title="licence secret"),
    ]
    indexer.reindex_tickets([t.pk for t in tickets])
    alice = client_for(team.alice)
    created = alice.post(
        "/saved-searches", {"name": "Licences", "query": "licence", "group": "info"}
    )
    assert created.status_code == 201, created.content
    assert created.json()["count"] == 2
    search_id = created.json()["id"]
    bob = client_for(team.bob)
    (seen,) = bob.get("/saved-searches").json()
    assert (seen["name"], seen["owner"], seen["count"]) == ("Licences", "alice", 1)
    assert bob.delete(f"/saved-searches/{search_id}").status_code == 403
    assert client_for(team.carol).get(f"/saved-searches/{search_id}").status_code == 404
    changed = alice.patch(f"/saved-searches/{search_id}", {"name": "Licence"})
    assert changed.json()["name"] == "Licence"
    assert changed.json()["group"] == "info"  # left as it was
    personal = alice.patch(f"/saved-searches/{search_id}", {"group": None})
    assert personal.json()["group"] is None
    assert bob.get("/saved-searches").json() == []
    assert alice.delete(f"/saved-searches/{search_id}").status_code == 204
    assert not SavedSearch.objects.exists()


@pytest.mark.django_db
def test_sharing_through_the_api_needs_rw(team):
    admin.grant(team.queue.group, [Permission.RO], agent=team.carol)
    response = client_for(team.carol).post(
        "/saved-searches", {"name": "x", "query": "x", "group": "info"}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_mention_list_costs_the_same_for_few_and_many(team):
    bob = client_for(team.bob)
    saved_searches.create_saved_search(team.bob, name="x", query="state:open")
    from helpline.actions.articles import add_note

    add_note(team.alice, make_ticket(team.queue).pk, "@bob one")
    few = queries_for(bob, "/me/mentions")
    for _ in range(10):
        add_note(team.alice, make_ticket(team.queue).pk, "@bob more")
    assert len(queries_for(bob, "/me/mentions")) == len(few)
    assert len(bob.get("/me/mentions").json()) == 11
