"""Merge, split, links and history over the API."""

from __future__ import annotations

import pytest

from helpline.actions import tickets
from helpline.models import Ticket, TicketLink
from tests.api.conftest import error_code, queries_for
from tests.support import make_queue, make_ticket

pytestmark = pytest.mark.django_db


def test_merging_moves_the_articles_and_answers_with_the_remaining_ticket(desk):
    source = make_ticket(desk.queue, body="first")
    target = make_ticket(desk.queue, body="second")
    response = desk.api.post(f"/tickets/{source.number}/merge", {"into": target.number})
    assert response.status_code == 200, response.content
    assert response.json()["number"] == target.number
    assert response["ETag"] == f'"{Ticket.objects.get(pk=target.pk).version}"'
    merged = desk.api.get(f"/tickets/{source.number}").json()
    assert (merged["state_type"], merged["merged_into"]) == ("merged", target.number)
    texts = [
        a["body_text"]
        for a in desk.api.get(f"/tickets/{target.number}/articles").json()["items"]
    ]
    assert {"first", "second"} <= set(texts)


def test_a_ticket_does_not_merge_into_itself_nor_twice(desk):
    ticket = make_ticket(desk.queue)
    other = make_ticket(desk.queue)
    itself = desk.api.post(f"/tickets/{ticket.number}/merge", {"into": ticket.number})
    assert (itself.status_code, error_code(itself)) == (422, "invalid")
    desk.api.post(f"/tickets/{ticket.number}/merge", {"into": other.number})
    again = desk.api.post(f"/tickets/{ticket.number}/merge", {"into": other.number})
    assert (again.status_code, error_code(again)) == (409, "conflict")


def test_splitting_makes_a_child_ticket_from_one_article(desk):
    second = make_queue("Second", group=desk.queue.group)
    ticket = make_ticket(desk.queue)
    article = ticket.articles.get()
    response = desk.api.post(
        f"/tickets/{ticket.number}/split",
        {"article_id": article.pk, "title": "The other question", "queue": "Second"},
    )
    assert response.status_code == 201, response.content
    new = Ticket.objects.get(number=response.json()["number"])
    assert response["Location"] == f"/api/v1/tickets/{new.number}"
    assert (new.title, new.queue) == ("The other question", second)
    links = desk.api.get(f"/tickets/{ticket.number}/links").json()
    assert links == [
        {
            "ticket": new.number,
            "title": "The other question",
            "type": "parent_child",
            "relation": "child",
        }
    ]


def test_splitting_an_article_of_another_ticket_is_invalid_input(desk):
    ticket = make_ticket(desk.queue)
    other = make_ticket(desk.queue)
    response = desk.api.post(
        f"/tickets/{ticket.number}/split",
        {"article_id": other.articles.get().pk},
    )
    assert response.status_code == 422
    assert Ticket.objects.count() == 2


def test_linking_and_unlinking(desk):
    parent = make_ticket(desk.queue, title="parent")
    child = make_ticket(desk.queue, title="child")
    response = desk.api.post(
        f"/tickets/{parent.number}/links",
        {"ticket": child.number, "type": "parent_child"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["relation"] == "child"
    seen_from_child = desk.api.get(f"/tickets/{child.number}/links").json()
    assert seen_from_child == [
        {
            "ticket": parent.number,
            "title": "parent",
            "type": "parent_child",
            "relation": "parent",
        }
    ]
    gone = desk.api.delete(f"/tickets/{child.number}/links/{parent.number}")
    assert gone.status_code == 204
    assert not TicketLink.objects.exists()
    again = desk.api.delete(f"/tickets/{child.number}/links/{parent.number}")
    assert again.status_code == 404


def test_links_to_tickets_the_agent_may_not_see_are_not_shown(desk):
    ticket = make_ticket(desk.queue)
    hidden = make_ticket(make_queue("Secret"))
    TicketLink.objects.create(source=ticket, target=hidden, type="normal")
    assert desk.api.get(f"/tickets/{ticket.number}/links").json() == []


def test_the_history_lists_every_change_oldest_first_in_pages(desk):
    ticket = make_ticket(desk.queue)
    tickets.set_priority(desk.agent, ticket.pk, 5)
    tickets.set_title(desk.agent, ticket.pk, "Renamed")
    first = desk.api.get(f"/tickets/{ticket.number}/history?limit=2").json()
    rest = desk.api.get(
        f"/tickets/{ticket.number}/history?cursor={first['next_cursor']}"
    ).json()
    entries = first["items"] + rest["items"]
    types = [e["type"] for e in entries]
    assert types[:2] == ["created", "article"]
    assert "priority" in types
    assert types[-1] == "title"
    title = entries[-1]
    assert title["actor"] == "alice"
    assert title["data"] == {"old": "Question about an article", "new": "Renamed"}
    assert rest["next_cursor"] is None


def test_the_history_costs_the_same_queries_for_few_and_many_entries(
    desk, django_assert_max_num_queries
):
    ticket = make_ticket(desk.queue)
    path = f"/tickets/{ticket.number}/history?limit=100"
    few = len(queries_for(desk.api, path))
    for i in range(10):
        tickets.set_priority(desk.agent, ticket.pk, 1 + i % 5)
    with django_assert_max_num_queries(few):
        assert len(desk.api.get(path).json()["items"]) > 10
