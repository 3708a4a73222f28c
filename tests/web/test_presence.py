"""The collision warning: who else is on the ticket, and whether it changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from helpline.actions import locks
from helpline.actions.articles import add_note
from helpline.models import Presence
from helpline.web import presence
from tests.web import build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


def poll(client, ticket, *, action="viewing", version=None):
    return client.post(
        reverse("presence", args=[ticket.number]),
        {"action": action, "version": version or ticket.version},
        HTTP_HX_REQUEST="true",
    )


def test_an_agent_sees_who_else_is_viewing_and_who_is_replying(client, world):
    bob = client.__class__()
    bob.force_login(world.bob)
    bob.get(reverse("zoom", args=[world.ticket.number]))
    client.force_login(world.alice)
    response = poll(client, world.ticket)
    assert b"Bob B is viewing this ticket." in response.content
    bob.get(reverse("reply", args=[world.ticket.number]))
    response = poll(client, world.ticket)
    assert b"Bob B is writing a reply." in response.content
    # The zoom shows it at once, before the first poll.
    zoom = client.get(reverse("zoom", args=[world.ticket.number]))
    assert b"Bob B is writing a reply." in zoom.content


def test_the_agent_does_not_see_themselves(client, world):
    client.force_login(world.alice)
    client.get(reverse("zoom", args=[world.ticket.number]))
    response = poll(client, world.ticket)
    assert b"is viewing" not in response.content


def test_agents_who_left_are_forgotten(client, world):
    presence.mark(world.bob, world.ticket)
    Presence.objects.update(
        last_seen=Presence.objects.get().last_seen - timedelta(minutes=2)
    )
    client.force_login(world.alice)
    assert b"Bob" not in poll(client, world.ticket).content


def test_a_change_since_the_page_was_shown_asks_for_a_reload(client, world):
    client.force_login(world.alice)
    shown = world.ticket.version
    assert b"changed since you opened it" not in poll(client, world.ticket).content
    add_note(world.bob, world.ticket.pk, "Bob was here")
    response = poll(client, world.ticket, version=shown)
    assert b"This ticket changed since you opened it." in response.content


def test_a_lock_by_another_agent_is_announced(client, world):
    locks.lock_ticket(world.bob, world.ticket.pk)
    client.force_login(world.alice)
    response = client.get(reverse("zoom", args=[world.ticket.number]))
    assert b"Locked by Bob B" in response.content


def test_the_poll_is_refused_for_a_hidden_ticket(client, world):
    client.force_login(world.alice)
    response = poll(client, world.hidden)
    assert response.status_code == 404
    assert not Presence.objects.filter(ticket=world.hidden).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_heartbeat_does_not_wait_for_the_disk_and_nothing_else_is_affected():
    """On PostgreSQL a heartbeat commits with synchronous_commit off, for its own
    transaction only; on SQLite it is a plain transaction.  Either way it is stored."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world = build_world()
    with CaptureQueriesContext(connection) as queries:
        presence.mark(world.alice, world.ticket, "replying")
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    stored = Presence.objects.get(agent=world.alice, ticket=world.ticket)
    assert stored.action == "replying"
    if connection.vendor == "postgresql":
        assert "SET LOCAL synchronous_commit TO OFF" in sql
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"  # only that transaction
    else:
        assert "synchronous_commit" not in sql
