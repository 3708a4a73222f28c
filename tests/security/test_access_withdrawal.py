"""Withdrawing access withdraws it (issue 13, point 2).

Only a grant opens a ticket.  When an agent can no longer read a queue, however that
happens, the agent stops watching its tickets and loses their locks, ownership and
responsibility; each ticket's history says so and the revoking command lists them.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from helpline.actions import admin, locks, tickets
from helpline.errors import InvalidInput
from helpline.models import Grant, HistoryEntry, HistoryType, Permission, TicketWatcher
from helpline.responses.notify import Event, notify
from tests.api.conftest import client_for
from tests.support import make_agent
from tests.web import build_world, email_ticket, web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def world():
    """alice owns (locked) the Info ticket, is responsible for another and watches a
    third; all in Support, where she holds rw."""
    w = build_world()
    locks.lock_ticket(w.alice, w.ticket.pk)
    w.second = email_ticket(w.info, title="Second")
    locks.set_responsible(w.bob, w.second.pk, w.alice)
    w.third = email_ticket(w.sub, title="Third")
    tickets.watch_ticket(w.alice, w.third.pk)
    return w


def _holds_nothing(w) -> None:
    for t in (w.ticket, w.second, w.third):
        t.refresh_from_db()
        assert w.alice.pk not in (t.owner_id, t.responsible_id), t.title
    w.ticket.refresh_from_db()
    assert not w.ticket.locked
    assert not TicketWatcher.objects.filter(agent=w.alice).exists()


def test_a_revoked_owner_can_no_longer_reply_on_the_web_or_through_the_api(world):
    admin.revoke(world.info.group, [Permission.RW], agent=world.alice)
    alice = fresh(world.alice)
    web = Client()
    web.force_login(alice)
    reply = reverse("reply", args=[world.ticket.number])
    assert web.get(reply).status_code == 404
    response = web.post(
        reply,
        {"to": "customer@example.net", "subject": "Re", "body": "Hi", "next_state": ""},
    )
    assert response.status_code == 404
    api = client_for(alice)
    response = api.post(
        f"/tickets/{world.ticket.number}/articles", {"kind": "reply", "text": "Hi"}
    )
    assert response.status_code == 404
    assert api.get(f"/tickets/{world.ticket.number}").status_code == 404


def test_revoking_releases_locks_ownership_responsibility_and_watching(world):
    result = admin.revoke(world.info.group, [Permission.RW], agent=world.alice)
    assert result.removed == 1
    _holds_nothing(world)
    lost = {(w.number, w.agent): w.lost for w in result.withdrawn}
    assert lost == {
        (world.ticket.number, "alice"): ("lock", "owner"),
        (world.second.number, "alice"): ("responsible",),
        (world.third.number, "alice"): ("watcher",),
    }
    owner_entry = HistoryEntry.objects.get(
        ticket=world.ticket, type=HistoryType.OWNER, data__new="nobody"
    )
    assert owner_entry.data == {
        "old": "alice",
        "new": "nobody",
        "reason": "access revoked",
    }
    assert HistoryEntry.objects.filter(
        ticket=world.ticket, type=HistoryType.UNLOCKED
    ).exists()
    assert HistoryEntry.objects.filter(
        ticket=world.second, type=HistoryType.RESPONSIBLE, data__new="nobody"
    ).exists()
    assert HistoryEntry.objects.filter(
        ticket=world.third, type=HistoryType.UNWATCH, data__agent="alice"
    ).exists()


def test_a_revoked_owner_is_no_longer_shown_as_owner(world):
    admin.revoke(world.info.group, [Permission.RW], agent=world.alice)
    web = Client()
    web.force_login(fresh(world.bob))
    page = web.get(reverse("zoom", args=[world.ticket.number]))
    assert page.status_code == 200
    assert page.context["ticket"].owner_id is None
    api = client_for(fresh(world.bob)).get(f"/tickets/{world.ticket.number}").json()
    assert api["owner"] is None


def test_the_revoke_command_lists_what_was_taken_back(world):
    out = io.StringIO()
    call_command("revoke", "rw", "--group", "Support", "--agent", "alice", stdout=out)
    text = out.getvalue()
    assert f"ticket {world.ticket.number}: alice no longer lock, owner" in text
    assert f"ticket {world.third.number}: alice no longer watcher" in text
    assert "3 tickets" in text


def test_the_agent_deactivate_command_lists_what_was_taken_back(world):
    out = io.StringIO()
    call_command("agent", "deactivate", "alice", stdout=out)
    text = out.getvalue()
    assert "Agent 'alice' is deactivated." in text
    assert f"ticket {world.second.number}: alice no longer responsible" in text
    assert "3 tickets" in text
    assert not fresh(world.alice).is_active
    _holds_nothing(world)
    call_command("agent", "activate", "alice", stdout=io.StringIO())
    assert fresh(world.alice).is_active


def test_keeping_ro_keeps_what_the_agent_holds(world):
    """Revoking rw from an agent who still reads the group takes nothing back."""
    admin.grant(world.info.group, [Permission.RO], agent=world.alice)
    result = admin.revoke(world.info.group, [Permission.RW], agent=world.alice)
    assert result.withdrawn == []
    world.ticket.refresh_from_db()
    assert world.ticket.owner_id == world.alice.pk


def _by_role(world):
    role = admin.create_role("Desk")
    admin.add_role_member(role, world.alice)
    admin.grant(world.info.group, [Permission.RO], role=role)
    admin.revoke(world.info.group, [Permission.RW], agent=world.alice)
    world.ticket.refresh_from_db()
    assert world.ticket.owner_id == world.alice.pk  # still reads through the role
    return role


def test_leaving_the_role_that_gave_access_withdraws_it(world):
    role = _by_role(world)
    withdrawn = admin.remove_role_member(role, world.alice)
    assert {w.number for w in withdrawn} == {
        t.number for t in (world.ticket, world.second, world.third)
    }
    _holds_nothing(world)


def test_a_role_switched_off_withdraws_access(world):
    role = _by_role(world)
    role.valid = False
    role.save()
    _holds_nothing(world)


def test_a_role_deleted_withdraws_what_only_it_gave(world):
    role = _by_role(world)
    role.delete()  # its grants and memberships go by cascade
    _holds_nothing(world)


def test_a_group_switched_off_withdraws_access(world):
    group = world.info.group
    group.valid = False
    group.save()
    _holds_nothing(world)


def test_deactivating_an_agent_withdraws_access(world):
    alice = fresh(world.alice)
    alice.is_active = False
    alice.save()
    _holds_nothing(world)


def test_a_queue_given_to_another_group_withdraws_access(world):
    info = fresh(world.info)
    info.group = world.secret.group
    info.save()
    world.ticket.refresh_from_db()
    assert world.ticket.owner_id is None
    world.third.refresh_from_db()  # Info::Sub stayed in Support
    assert TicketWatcher.objects.filter(agent=world.alice, ticket=world.third).exists()


def test_moving_a_ticket_drops_who_cannot_read_the_new_queue(world):
    bob = fresh(world.bob)
    admin.grant(world.secret.group, [Permission.MOVE_INTO], agent=bob)
    tickets.watch_ticket(world.alice, world.second.pk)
    tickets.move_ticket(fresh(bob), world.second.pk, world.secret)
    world.second.refresh_from_db()
    assert world.second.responsible_id is None
    assert not TicketWatcher.objects.filter(ticket=world.second).exists()
    assert HistoryEntry.objects.filter(
        ticket=world.second, type=HistoryType.UNWATCH, data__reason="moved"
    ).exists()


def test_nobody_who_cannot_read_a_ticket_is_made_its_owner_or_responsible(world):
    outsider = make_agent("olga")
    admin.grant(world.info.group, [Permission.OWNER], agent=outsider)  # no ro
    with pytest.raises(InvalidInput):
        locks.set_owner(world.bob, world.second.pk, outsider)
    with pytest.raises(InvalidInput):
        locks.set_responsible(world.bob, world.second.pk, world.eve)


def test_no_notification_goes_to_an_owner_who_cannot_read_the_ticket(world):
    """Even when a grant vanished behind the actions' back, ticket content never
    goes by mail to someone who may not read it."""
    Grant.objects.filter(agent=world.alice).delete()
    world.ticket.refresh_from_db()
    assert world.ticket.owner_id == world.alice.pk  # nothing took it back
    assert notify(Event.FOLLOW_UP, world.ticket) == []
    assert notify(Event.LOCK_TIMEOUT, world.ticket) == []


def test_withdrawal_is_a_fixed_number_of_queries_however_many_tickets(
    world, django_assert_max_num_queries
):
    from helpline.actions.withdrawal import withdraw_lost_access

    def own(n: int) -> None:
        for i in range(n):
            t = email_ticket(world.info, title=f"Bulk {i}")
            locks.lock_ticket(world.alice, t.pk)
            tickets.watch_ticket(world.alice, t.pk)

    own(2)
    Grant.objects.filter(agent=world.alice).delete()
    with django_assert_max_num_queries(12) as few:
        assert len(withdraw_lost_access(agent_ids=[world.alice.pk])) == 5
    admin.grant(world.info.group, [Permission.RW], agent=world.alice)
    own(40)
    Grant.objects.filter(agent=world.alice).delete()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(withdraw_lost_access(agent_ids=[world.alice.pk])) == 40
