"""Bulk actions: each selected ticket through the same action, failures reported."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.actions import locks
from helpline.models import StateType, Ticket
from tests.web import build_world, email_ticket, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    world = build_world()
    world.second = email_ticket(world.info, title="Second")
    world.third = email_ticket(world.info, title="Third")
    return world


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def run(client, tickets, **fields):
    return client.post(reverse("bulk"), {"ids": [t.pk for t in tickets], **fields})


def test_the_bulk_screen_lists_the_visible_selection_only(alice_client, world):
    ids = [world.ticket.pk, world.second.pk, world.hidden.pk]
    response = alice_client.get(reverse("bulk"), {"ids": ids})
    assert {t.pk for t in response.context["selected"]} == {
        world.ticket.pk,
        world.second.pk,
    }
    assert b"Secret matter" not in response.content


def test_bulk_lock_reports_each_ticket(alice_client, world):
    locks.lock_ticket(world.bob, world.third.pk)
    response = run(
        alice_client, [world.ticket, world.second, world.third], action="lock"
    )
    assert response.status_code == 200
    outcomes = {o.ticket.pk: o for o in response.context["outcomes"]}
    assert outcomes[world.ticket.pk].ok and outcomes[world.second.pk].ok
    assert not outcomes[world.third.pk].ok
    assert "locked by bob" in outcomes[world.third.pk].message
    assert response.context["failed"] == 1
    assert Ticket.objects.get(pk=world.second.pk).owner == world.alice


def test_bulk_move_state_priority_and_owner(alice_client, world):
    selection = [world.ticket, world.second]
    run(alice_client, selection, action="priority", priority=5)
    run(alice_client, selection, action="state", state="open")
    run(alice_client, selection, action="move", queue=world.sub.pk)
    # Last: the lock passes to the new owner, so alice could not move them after.
    run(alice_client, selection, action="owner", owner="bob")
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in selection]):
        assert ticket.priority == 5
        assert ticket.state.name == "open"
        assert ticket.owner == world.bob
        assert ticket.queue == world.sub


def test_bulk_merge_into_one(alice_client, world):
    run(
        alice_client,
        [world.ticket, world.second, world.third],
        action="merge",
        target=world.ticket.number,
    )
    merged = Ticket.objects.filter(merged_into=world.ticket)
    assert {t.pk for t in merged} == {world.second.pk, world.third.pk}
    assert world.ticket.articles.count() == 3


def test_bulk_close_needs_a_note(alice_client, world):
    response = run(
        alice_client, [world.ticket], action="close", close_state="closed successful"
    )
    assert "note" in response.context["form"].errors
    run(
        alice_client,
        [world.ticket, world.second],
        action="close",
        close_state="closed successful",
        note="Answered elsewhere.",
    )
    closed = Ticket.objects.filter(state_type=StateType.CLOSED)
    assert {t.pk for t in closed} == {world.ticket.pk, world.second.pk}


def test_bulk_with_an_unknown_owner_changes_nothing(alice_client, world):
    response = run(alice_client, [world.ticket], action="owner", owner="nobody")
    assert response.status_code == 400
    assert b"No active agent with that login." in response.content
    assert Ticket.objects.get(pk=world.ticket.pk).owner is None


def test_hidden_tickets_in_a_bulk_request_are_left_alone(alice_client, world):
    run(alice_client, [world.ticket, world.hidden], action="priority", priority=1)
    assert Ticket.objects.get(pk=world.hidden.pk).priority == 3
    assert Ticket.objects.get(pk=world.ticket.pk).priority == 1


def test_bulk_reply_with_a_template_answers_each_customer_on_its_own(
    alice_client, world
):
    """One reply per ticket, rendered for its own customer and ticket; a ticket
    alice may only read, one locked by bob and one whose queue does not offer the
    template are each reported and left without a reply."""
    from helpline.actions import admin
    from helpline.models import (
        Article,
        OutboxMessage,
        Permission,
        SenderType,
        Template,
        TemplateType,
    )
    from tests.support import make_group, make_queue

    readonly = make_queue("Read only", group=make_group("Readers"))
    admin.grant(readonly.group, [Permission.RO], agent=world.alice)
    template = Template.objects.create(
        name="thanks",
        type=TemplateType.ANSWER,
        text="Thanks {{ customer.email }}, about “{{ ticket.title }}”.",
    )
    template.queues.add(world.info, readonly)
    zoe = email_ticket(world.info, title="Zoe's photo", customer="zoe@example.org")
    read_only = email_ticket(readonly, title="Only read", customer="r@example.org")
    elsewhere = email_ticket(world.sub, title="Sub question", customer="s@example.org")
    locks.lock_ticket(world.bob, world.third.pk)

    screen = alice_client.get(reverse("bulk"), {"ids": [world.ticket.pk, zoe.pk]})
    assert ("thanks", "thanks") in screen.context["form"].fields["template"].choices

    response = run(
        alice_client,
        [world.ticket, zoe, read_only, elsewhere, world.third],
        action="reply",
        template="thanks",
    )
    assert response.status_code == 200
    outcomes = {o.ticket.pk: o for o in response.context["outcomes"]}
    assert outcomes[world.ticket.pk].ok and outcomes[zoe.pk].ok
    assert "customer@example.net" in outcomes[world.ticket.pk].message
    assert "'rw'" in outcomes[read_only.pk].message
    assert "No template 'thanks'" in outcomes[elsewhere.pk].message
    assert "locked by bob" in outcomes[world.third.pk].message
    assert response.context["failed"] == 3

    def replies_of(ticket):
        return list(Article.objects.filter(ticket=ticket, sender_type=SenderType.AGENT))

    (first,) = replies_of(world.ticket)
    (second,) = replies_of(zoe)
    assert "Thanks customer@example.net, about “Question about an article”." in (
        first.body_text
    )
    assert "Thanks zoe@example.org, about “Zoe's photo”." in second.body_text
    assert "zoe@example.org" not in first.body_text
    assert [replies_of(t) for t in (read_only, elsewhere, world.third)] == [[], [], []]
    sent = sorted(r for m in OutboxMessage.objects.all() for r in m.recipients)
    assert sent == ["customer@example.net", "zoe@example.org"]


def test_bulk_reply_needs_a_template(alice_client, world):
    response = run(alice_client, [world.ticket], action="reply")
    assert "template" in response.context["form"].errors
