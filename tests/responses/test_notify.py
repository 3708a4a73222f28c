"""Notifications reach the right agents, and only them."""

from __future__ import annotations

import pytest

from helpline.actions import admin, locks, tickets
from helpline.actions.events import Event
from helpline.models import OutboxMessage, Permission
from helpline.responses.notify import notify
from tests.support import make_agent, make_group, make_queue, make_ticket


@pytest.fixture
def setup(db):
    group = make_group("info")
    queue = make_queue("info-en", group=group)
    alice, bob = make_agent("alice"), make_agent("bob")
    for a in (alice, bob):
        admin.grant(group, [Permission.RW], agent=a)
        a.agent_profile.followed_queues.add(queue)
    outsider = make_agent("outsider")
    outsider.agent_profile.followed_queues.add(queue)  # follows, but may not read
    return queue, alice, bob, outsider


def _recipients():
    return sorted(r for row in OutboxMessage.objects.all() for r in row.recipients)


@pytest.mark.django_db
def test_followers_hear_of_a_new_ticket_but_not_those_without_access(setup):
    queue, *_ = setup
    sent = notify(Event.NEW_TICKET, make_ticket(queue))
    assert sorted(sent) == ["alice@example.org", "bob@example.org"]


@pytest.mark.django_db
def test_the_agent_who_caused_the_event_is_not_told(setup):
    queue, alice, bob, _ = setup
    sent = notify(Event.NEW_TICKET, make_ticket(queue), actor=alice)
    assert sent == ["bob@example.org"]


@pytest.mark.django_db
def test_an_agent_can_switch_a_kind_off(setup):
    queue, alice, *_ = setup
    alice.agent_profile.notifications_off = ["new_ticket"]
    alice.agent_profile.save()
    assert notify(Event.NEW_TICKET, make_ticket(queue)) == ["bob@example.org"]


@pytest.mark.django_db
def test_a_follow_up_on_a_locked_ticket_goes_to_its_owner_only(setup):
    queue, alice, *_ = setup
    ticket = locks.lock_ticket(alice, make_ticket(queue).pk)
    assert notify(Event.FOLLOW_UP, ticket) == ["alice@example.org"]


@pytest.mark.django_db
def test_being_made_owner_is_notified_after_commit(
    setup, django_capture_on_commit_callbacks
):
    queue, alice, bob, _ = setup
    ticket = make_ticket(queue)
    with django_capture_on_commit_callbacks(execute=True):
        locks.set_owner(alice, ticket.pk, bob)
    assert _recipients() == ["bob@example.org"]
    msg = OutboxMessage.objects.get()
    from helpline.blobstore import read_blob

    raw = read_blob(msg.raw)
    assert b"Auto-Submitted: auto-generated" in raw
    assert f"[Ticket#{ticket.number}]".encode() in raw


@pytest.mark.django_db
def test_moving_into_a_followed_queue_tells_its_followers(
    setup, django_capture_on_commit_callbacks
):
    queue, alice, bob, _ = setup
    other_group = make_group("other")
    other = make_queue("other", group=other_group)
    carol = make_agent("carol")
    admin.grant(other_group, [Permission.RO], agent=carol)
    carol.agent_profile.followed_queues.add(other)
    admin.grant(other_group, [Permission.MOVE_INTO], agent=alice)
    ticket = make_ticket(queue)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.move_ticket(alice, ticket.pk, other)
    assert _recipients() == ["carol@example.org"]
