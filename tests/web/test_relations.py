"""Merge (and undo), split and link from the zoom; always among visible tickets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.models import LinkType, StateType, Ticket, TicketLink
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


def url(name, ticket, *args):
    return reverse(name, args=[ticket.number, *args])


def test_merge_by_number(alice_client, world):
    duplicate = email_ticket(world.info, title="Same question again")
    response = alice_client.post(
        url("merge", duplicate), {"target": world.ticket.number}
    )
    assert response["Location"] == url("zoom", world.ticket)
    merged = Ticket.objects.get(pk=duplicate.pk)
    assert merged.state_type == StateType.MERGED
    assert merged.merged_into_id == world.ticket.pk
    assert world.ticket.articles.count() == 2


def test_merge_candidates_are_the_customers_other_visible_tickets(alice_client, world):
    other = email_ticket(world.info, title="Another one")
    email_ticket(world.secret, title="Same customer, hidden queue")
    response = alice_client.get(url("merge", world.ticket))
    assert [t.pk for t in response.context["candidates"]] == [other.pk]
    assert b"hidden queue" not in response.content


def test_merge_candidates_by_title_words(alice_client, world):
    photo = email_ticket(world.info, title="Photo licence", customer="x@example.org")
    email_ticket(world.secret, title="Photo licence secret", customer="y@example.org")
    response = alice_client.get(url("merge", world.ticket) + "?q=photo licence")
    assert [t.pk for t in response.context["candidates"]] == [photo.pk]


def test_merge_into_a_hidden_ticket_looks_like_a_missing_one(alice_client, world):
    response = alice_client.post(
        url("merge", world.ticket), {"target": world.hidden.number}
    )
    assert response.status_code == 404
    assert b"not found" in response.content
    assert b"Secret matter" not in response.content
    assert Ticket.objects.get(pk=world.ticket.pk).merged_into_id is None


def test_merge_into_itself_is_refused(alice_client, world):
    response = alice_client.post(
        url("merge", world.ticket), {"target": world.ticket.number}
    )
    assert response.status_code == 400
    assert b"cannot be merged into itself" in response.content


def test_unmerge(alice_client, world):
    duplicate = email_ticket(world.info, title="Dup")
    alice_client.post(url("merge", duplicate), {"target": world.ticket.number})
    alice_client.post(url("unmerge", duplicate))
    assert Ticket.objects.get(pk=duplicate.pk).merged_into_id is None
    assert duplicate.articles.filter(body_text="Hello, I have a question.").exists()


def test_split_an_article_into_a_new_linked_ticket(alice_client, world):
    article = world.ticket.articles.get()
    response = alice_client.post(
        url("split", world.ticket, article.pk),
        {"queue": world.sub.pk, "title": "A separate question"},
    )
    new = Ticket.objects.get(title="A separate question")
    assert response["Location"] == url("zoom", new)
    assert new.queue == world.sub
    assert TicketLink.objects.filter(
        source=world.ticket, target=new, type=LinkType.PARENT_CHILD
    ).exists()


def test_split_of_an_article_from_another_ticket_is_not_found(alice_client, world):
    hidden_article = world.hidden.articles.get()
    response = alice_client.get(url("split", world.ticket, hidden_article.pk))
    assert response.status_code == 404


def test_link_and_unlink(alice_client, world):
    other = email_ticket(world.info, title="Related")
    alice_client.post(
        url("link", world.ticket), {"other": other.number, "relation": "child"}
    )
    link = TicketLink.objects.get()
    assert (link.source, link.target, link.type) == (
        other,
        world.ticket,
        LinkType.PARENT_CHILD,
    )
    zoom = alice_client.get(url("zoom", world.ticket))
    assert [row.ticket.number for row in zoom.context["links"]] == [other.number]
    alice_client.post(url("unlink", world.ticket), {"other": other.number})
    assert not TicketLink.objects.exists()


def test_linking_to_a_hidden_ticket_is_refused(alice_client, world):
    response = alice_client.post(
        url("link", world.ticket),
        {"other": world.hidden.number, "relation": "normal"},
    )
    assert response.status_code == 404
    assert not TicketLink.objects.exists()
