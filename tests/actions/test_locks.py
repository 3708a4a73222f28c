"""Locks and owners: many agents work at once without stepping on each other."""

from __future__ import annotations

import pytest

from helpline.actions import admin, articles, locks, tickets
from helpline.errors import InvalidInput, TicketLocked
from helpline.models import Permission
from tests.support import make_agent, make_ticket


@pytest.fixture
def team(queue):
    alice, bob, lead = make_agent("alice"), make_agent("bob"), make_agent("lead")
    for agent in (alice, bob, lead):
        admin.grant(queue.group, [Permission.RW], agent=agent)
    admin.grant(queue.group, [Permission.OVERRIDE_LOCK], agent=lead)
    return alice, bob, lead


@pytest.mark.django_db
def test_locking_makes_the_agent_owner(queue, team):
    alice, _, _ = team
    ticket = locks.lock_ticket(alice, make_ticket(queue).pk)
    assert ticket.locked and ticket.owner == alice


@pytest.mark.django_db
def test_a_second_agent_cannot_lock_or_change_a_locked_ticket(queue, team):
    alice, bob, _ = team
    ticket = make_ticket(queue)
    locks.lock_ticket(alice, ticket.pk)
    with pytest.raises(TicketLocked, match="locked by alice"):
        locks.lock_ticket(bob, ticket.pk)
    with pytest.raises(TicketLocked):
        tickets.set_priority(bob, ticket.pk, 5)
    with pytest.raises(TicketLocked):
        tickets.close_ticket(bob, ticket.pk, note="mine now")
    with pytest.raises(TicketLocked):
        locks.unlock_ticket(bob, ticket.pk)


@pytest.mark.django_db
def test_notes_on_a_locked_ticket_stay_possible_for_colleagues(queue, team):
    alice, bob, _ = team
    ticket = make_ticket(queue)
    locks.lock_ticket(alice, ticket.pk)
    note = articles.add_note(bob, ticket.pk, "I know this customer.")
    assert note.created_by == bob


@pytest.mark.django_db
def test_override_lock_is_a_right_of_its_own_not_implied_by_rw(queue, team):
    alice, _, lead = team
    ticket = make_ticket(queue)
    locks.lock_ticket(alice, ticket.pk)
    ticket = locks.lock_ticket(lead, ticket.pk)
    assert ticket.owner == lead


@pytest.mark.django_db
def test_course_changing_actions_lock_an_unlocked_ticket_to_the_actor(queue, team):
    alice, _, _ = team
    ticket = tickets.set_priority(alice, make_ticket(queue).pk, 4)
    assert ticket.locked and ticket.owner == alice


@pytest.mark.django_db
def test_owner_must_be_allowed_to_own_tickets_in_the_queue(queue, team):
    alice, _, _ = team
    outsider = make_agent("outsider")
    ticket = make_ticket(queue)
    with pytest.raises(InvalidInput, match="may not own"):
        locks.set_owner(alice, ticket.pk, outsider)


@pytest.mark.django_db
def test_setting_the_owner_passes_the_lock_on(queue, team):
    alice, bob, _ = team
    ticket = make_ticket(queue)
    locks.lock_ticket(alice, ticket.pk)
    ticket = locks.set_owner(alice, ticket.pk, bob)
    assert ticket.locked and ticket.owner == bob
    tickets.set_priority(bob, ticket.pk, 2)  # bob holds it now
