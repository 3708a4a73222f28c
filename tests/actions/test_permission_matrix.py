"""Every permission against every action, granted and withheld, directly and by role.

An agent is given ``ro`` (so the ticket is visible) plus one permission; the action must
succeed exactly when that permission is the one it needs or ``rw``.  A second matrix
withholds ``ro`` and expects the ticket to be invisible to every action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from helpline.actions import admin, articles, locks, merge, tickets
from helpline.actions.access import access_ticket
from helpline.errors import PermissionDenied, TicketNotFound
from helpline.models import Permission, Ticket
from tests.support import make_agent, make_group, make_queue, make_ticket


@dataclass
class World:
    agent: Any
    ticket: Ticket
    other: Ticket
    target_queue: Any


def _world(perms: list[str], via: str) -> World:
    group = make_group()
    queue = make_queue(group=group)
    target_group = make_group()
    target_queue = make_queue(group=target_group)
    agent = make_agent()
    if via == "agent":
        admin.grant(group, perms, agent=agent)
    else:
        role = admin.create_role(f"role-{agent.username}")
        admin.add_role_member(role, agent)
        admin.grant(group, perms, role=role)
    # The move target accepts the agent in every case: the matrix tests the source.
    admin.grant(target_group, [Permission.MOVE_INTO], agent=agent)
    return World(agent, make_ticket(queue), make_ticket(queue), target_queue)


ACTIONS: dict[str, tuple[str, Callable[[World], Any]]] = {
    "read": (Permission.RO, lambda w: access_ticket(w.agent, w.ticket.pk)),
    "note": (Permission.NOTE, lambda w: articles.add_note(w.agent, w.ticket.pk, "n")),
    "move": (
        Permission.MOVE_INTO,
        lambda w: tickets.move_ticket(w.agent, w.ticket.pk, w.target_queue),
    ),
    "owner": (
        Permission.OWNER,
        lambda w: locks.set_owner(w.agent, w.ticket.pk, w.agent),
    ),
    "priority": (
        Permission.PRIORITY,
        lambda w: tickets.set_priority(w.agent, w.ticket.pk, 5),
    ),
    "lock": (Permission.RW, lambda w: locks.lock_ticket(w.agent, w.ticket.pk)),
    "state": (
        Permission.RW,
        lambda w: tickets.set_state(
            w.agent,
            w.ticket.pk,
            "pending reminder",
            pending_until=timezone.now() + timedelta(days=1),
        ),
    ),
    "close": (
        Permission.RW,
        lambda w: tickets.close_ticket(w.agent, w.ticket.pk, note="done"),
    ),
    "merge": (
        Permission.RW,
        lambda w: merge.merge_tickets(w.agent, w.ticket.pk, w.other.pk),
    ),
    "link": (
        Permission.RW,
        lambda w: merge.link_tickets(w.agent, w.ticket.pk, w.other.pk),
    ),
    "split": (
        Permission.RW,
        lambda w: merge.split_article(w.agent, w.ticket.articles.first().pk),
    ),
    "responsible": (
        Permission.RW,
        lambda w: locks.set_responsible(w.agent, w.ticket.pk, w.agent),
    ),
    "title": (Permission.RW, lambda w: tickets.set_title(w.agent, w.ticket.pk, "T")),
    "phone": (
        Permission.RW,
        lambda w: articles.add_article(
            w.agent, w.ticket.pk, articles.NewArticle(channel="phone", body_text="x")
        ),
    ),
}

GRANTABLE = [p for p in Permission.values if p != Permission.OVERRIDE_LOCK]


def _succeeds(need: str, granted: str) -> bool:
    return granted in (need, Permission.RW) or need == Permission.RO


@pytest.mark.django_db
@pytest.mark.parametrize("via", ["agent", "role"])
@pytest.mark.parametrize("granted", GRANTABLE)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_action_succeeds_exactly_with_its_permission_or_rw(action, granted, via):
    need, run = ACTIONS[action]
    perms = sorted({Permission.RO, granted})
    world = _world(perms, via)
    if _succeeds(need, granted):
        run(world)
    else:
        with pytest.raises(PermissionDenied):
            run(world)


@pytest.mark.django_db
@pytest.mark.parametrize("via", ["agent", "role"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_without_ro_the_ticket_is_not_found_by_any_action(action, via):
    """Every permission but ro/rw: the ticket stays invisible, as if it did not exist."""
    _, run = ACTIONS[action]
    others = [p for p in GRANTABLE if p not in (Permission.RO, Permission.RW)]
    world = _world(others, via)
    with pytest.raises(TicketNotFound):
        run(world)
    assert not Ticket.objects.visible_to(world.agent).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("via", ["agent", "role"])
@pytest.mark.parametrize("granted", GRANTABLE)
def test_create_needs_create_or_rw(granted, via):
    world = _world([granted], via)
    queue = world.ticket.queue

    def run():
        return tickets.create_ticket(
            world.agent,
            queue=queue,
            title="Phone call",
            article=articles.NewArticle(channel="phone", body_text="She called."),
        )

    if granted in (Permission.CREATE, Permission.RW):
        ticket, _ = run()
        assert ticket.queue == queue
    else:
        with pytest.raises(PermissionDenied):
            run()


@pytest.mark.django_db
def test_withdrawing_a_grant_withdraws_access():
    world = _world([Permission.RW], "agent")
    assert Ticket.objects.visible_to(world.agent).count() == 2
    admin.revoke(world.ticket.queue.group, [Permission.RW], agent=world.agent)
    world.agent = type(world.agent).objects.get(pk=world.agent.pk)  # fresh cache
    assert Ticket.objects.visible_to(world.agent).count() == 0
    with pytest.raises(TicketNotFound):
        access_ticket(world.agent, world.ticket.pk)


@pytest.mark.django_db
def test_a_role_that_is_switched_off_grants_nothing():
    world = _world([Permission.RW], "role")
    role = world.agent.helpline_roles.get()
    role.valid = False
    role.save()
    agent = type(world.agent).objects.get(pk=world.agent.pk)
    assert not Ticket.objects.visible_to(agent).exists()


@pytest.mark.django_db
def test_superusers_see_no_ticket_without_a_grant():
    group = make_group()
    make_ticket(make_queue(group=group))
    boss = make_agent(is_admin=True)
    assert not Ticket.objects.visible_to(boss).exists()


@pytest.mark.django_db
def test_a_deactivated_agent_sees_nothing():
    world = _world([Permission.RW], "agent")
    world.agent.is_active = False
    world.agent.save()
    agent = type(world.agent).objects.get(pk=world.agent.pk)
    assert not Ticket.objects.visible_to(agent).exists()
    with pytest.raises(TicketNotFound):
        access_ticket(agent, world.ticket.pk)


@pytest.mark.django_db
def test_owning_gives_no_access_once_the_grant_is_revoked():
    """Only a grant opens a ticket: its owner, once revoked, can neither read it nor
    add a note, and is its owner no more."""
    world = _world([Permission.RW], "agent")
    locks.lock_ticket(world.agent, world.ticket.pk)
    admin.revoke(world.ticket.queue.group, [Permission.RW], agent=world.agent)
    agent = type(world.agent).objects.get(pk=world.agent.pk)
    with pytest.raises(TicketNotFound):
        articles.add_note(agent, world.ticket.pk, "still mine?")
    assert not Ticket.objects.visible_to(agent).exists()
    world.ticket.refresh_from_db()
    assert (world.ticket.owner_id, world.ticket.locked) == (None, False)


def test_an_unknown_permission_name_is_an_error():
    with pytest.raises(ValueError, match="unknown permission"):
        admin.check_registered("write")
