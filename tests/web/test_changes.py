"""Changing a ticket from the zoom: each screen calls its action; errors are shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from helpline.actions import admin, locks, tickets
from helpline.models import Permission, Ticket, TicketWatcher
from tests.web import build_world, web_settings


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


def url(name, ticket):
    return reverse(name, args=[ticket.number])


def fresh(ticket):
    return Ticket.objects.select_related("state", "queue").get(pk=ticket.pk)


def test_action_forms_load_alone_for_the_zoom_dialog(alice_client, world):
    full = alice_client.get(url("note", world.ticket))
    assert b"<html" in full.content
    alone = alice_client.get(url("note", world.ticket), HTTP_HX_REQUEST="true")
    assert b"<html" not in alone.content
    assert b'id="action-form"' in alone.content


def test_move(alice_client, world):
    response = alice_client.post(
        url("move", world.ticket), {"queue": world.sub.pk, "note": "Belongs there"}
    )
    assert response.status_code == 302
    ticket = fresh(world.ticket)
    assert ticket.queue == world.sub
    assert ticket.articles.filter(body_text="Belongs there").exists()


def test_move_offers_only_queues_the_agent_may_move_into(alice_client, world):
    response = alice_client.get(url("move", world.ticket))
    names = {q.name for q in response.context["form"].fields["queue"].queryset}
    assert names == {"Info::Sub"}
    response = alice_client.post(url("move", world.ticket), {"queue": world.secret.pk})
    assert "queue" in response.context["form"].errors
    assert fresh(world.ticket).queue == world.info


def test_owner_and_responsible(alice_client, world):
    alice_client.post(url("owner", world.ticket), {"owner": world.bob.pk})
    assert fresh(world.ticket).owner == world.bob
    alice_client.post(url("responsible", world.ticket), {"responsible": world.bob.pk})
    assert fresh(world.ticket).responsible == world.bob
    # Agents who may not own tickets in the queue are not offered.
    response = alice_client.get(url("owner", world.ticket))
    offered = set(response.context["form"].fields["owner"].queryset)
    assert offered == {world.alice, world.bob}


def test_priority(alice_client, world):
    alice_client.post(url("priority", world.ticket), {"priority": 5})
    assert fresh(world.ticket).priority == 5


def test_state_with_a_pending_time(alice_client, world):
    later = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = alice_client.post(
        url("state", world.ticket),
        {"state": "pending reminder", "pending_until": later},
    )
    assert response.status_code == 302
    ticket = fresh(world.ticket)
    assert ticket.state.name == "pending reminder"
    response = alice_client.post(
        url("state", world.ticket), {"state": "pending reminder"}
    )
    assert "pending_until" in response.context["form"].errors


def test_the_state_screen_does_not_close(alice_client, world):
    response = alice_client.post(
        url("state", world.ticket), {"state": "closed successful"}
    )
    assert "state" in response.context["form"].errors
    assert fresh(world.ticket).is_open


def test_close_needs_a_note(alice_client, world):
    response = alice_client.post(
        url("close", world.ticket), {"state": "closed successful", "note": ""}
    )
    assert "note" in response.context["form"].errors
    assert fresh(world.ticket).is_open
    alice_client.post(
        url("close", world.ticket),
        {"state": "closed unsuccessful", "note": "No permission was sent."},
    )
    ticket = fresh(world.ticket)
    assert ticket.state.name == "closed unsuccessful"
    assert ticket.articles.filter(body_text="No permission was sent.").exists()


def test_lock_and_unlock(alice_client, world):
    response = alice_client.post(url("lock", world.ticket), follow=True)
    assert b"The ticket is locked to you." in response.content
    ticket = fresh(world.ticket)
    assert ticket.locked and ticket.owner == world.alice
    alice_client.post(url("unlock", world.ticket))
    assert not fresh(world.ticket).locked


def test_one_click_actions_need_a_post(alice_client, world):
    assert alice_client.get(url("lock", world.ticket)).status_code == 405
    assert not fresh(world.ticket).locked


def test_a_lock_held_by_another_agent_is_reported_not_overridden(alice_client, world):
    locks.lock_ticket(world.bob, world.ticket.pk)
    response = alice_client.post(url("lock", world.ticket), follow=True)
    assert b"is locked by bob" in response.content
    assert fresh(world.ticket).owner == world.bob
    response = alice_client.post(
        url("priority", world.ticket), {"priority": 1}, follow=True
    )
    assert response.status_code == 409
    assert b"is locked by bob" in response.content


def test_a_lead_may_override_a_lock(client, world):
    lead = admin.create_agent("lead", email="lead@example.org")
    admin.grant(world.info.group, [Permission.RW, Permission.OVERRIDE_LOCK], agent=lead)
    locks.lock_ticket(world.bob, world.ticket.pk)
    client.force_login(lead)
    client.post(url("priority", world.ticket), {"priority": 5})
    assert fresh(world.ticket).priority == 5


def test_watch_and_unwatch(alice_client, world):
    alice_client.post(url("watch", world.ticket))
    assert TicketWatcher.objects.filter(agent=world.alice).exists()
    zoom = alice_client.get(url("zoom", world.ticket))
    assert zoom.context["watching"]
    alice_client.post(url("unwatch", world.ticket))
    assert not TicketWatcher.objects.filter(agent=world.alice).exists()


def test_archive_and_unarchive(alice_client, world):
    response = alice_client.post(url("archive", world.ticket), follow=True)
    assert b"is open; only closed ones archive" in response.content
    tickets.close_ticket(world.alice, world.ticket.pk, note="done")
    alice_client.post(url("archive", world.ticket))
    assert fresh(world.ticket).archived
    alice_client.post(url("unarchive", world.ticket))
    assert not fresh(world.ticket).archived


def test_an_agent_who_may_only_read_gets_a_clear_refusal(client, world):
    reader = admin.create_agent("reader", email="reader@example.org")
    admin.grant(world.info.group, [Permission.RO], agent=reader)
    client.force_login(reader)
    response = client.get(url("close", world.ticket))
    assert response.status_code == 403
    assert b"You need the &#x27;rw&#x27; permission" in response.content
    response = client.post(url("lock", world.ticket), follow=True)
    assert b"You need the &#x27;rw&#x27; permission" in response.content
    assert not fresh(world.ticket).locked
    zoom = client.get(url("zoom", world.ticket))
    assert zoom.status_code == 200
    # Buttons that cannot work are not shown.
    assert url("close", world.ticket).encode() not in zoom.content
