"""Agents are warned before and told at escalation, each clock period once."""

from __future__ import annotations

import pytest

from helpline.actions import escalations, tickets
from helpline.blobstore import read_blob
from helpline.models import OutboxMessage, TicketServiceLevel
from tests.sla.test_escalation import BERLIN, _do
from tests.support import make_agent, make_ticket

pytestmark = pytest.mark.django_db


def _notices() -> list[tuple[str, str]]:
    out = []
    for row in OutboxMessage.objects.order_by("pk"):
        text = read_blob(row.raw).decode("utf-8", "replace")
        for title in ("Escalation soon", "Escalated"):
            if f"{title}: " in text:
                out.extend((title, address) for address in row.recipients)
                break
    return out


@pytest.fixture
def owned(desk, clock, django_capture_on_commit_callbacks):
    """A ticket created Monday 09:00 in Berlin, owned by alice: its first response
    is due at 11:00 (warned at 10:30), its solution Tuesday 17:00."""
    queue, alice = desk
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(queue, owner=alice)
    return ticket, alice


def _run(clock, django_capture_on_commit_callbacks, moment: str) -> int:
    clock.set(BERLIN, moment)
    with django_capture_on_commit_callbacks(execute=True):
        return escalations.send_escalation_notices()


def test_warned_once_then_escalated_once(
    owned, clock, django_capture_on_commit_callbacks
):
    ticket, alice = owned
    run = lambda moment: _run(clock, django_capture_on_commit_callbacks, moment)  # noqa: E731
    assert run("2026-03-02 10:29") == 0
    assert run("2026-03-02 10:30") == 1
    assert run("2026-03-02 10:45") == 0
    assert _notices() == [("Escalation soon", alice.email)]
    assert run("2026-03-02 11:00") == 1
    assert run("2026-03-02 11:05") == 0
    assert run("2026-03-02 16:00") == 0
    assert _notices() == [
        ("Escalation soon", alice.email),
        ("Escalated", alice.email),
    ]
    # The solution clock has its own warning and escalation, once each.
    assert run("2026-03-03 16:30") == 1
    assert run("2026-03-03 17:00") == 1
    assert run("2026-03-04 09:00") == 0
    assert len(_notices()) == 4
    assert TicketServiceLevel.objects.get(ticket=ticket).alert_at is None


def test_a_pause_does_not_warn_twice(owned, clock, django_capture_on_commit_callbacks):
    ticket, alice = owned
    run = lambda moment: _run(clock, django_capture_on_commit_callbacks, moment)  # noqa: E731
    assert run("2026-03-02 10:35") == 1  # warned of the first response
    clock.set(BERLIN, "2026-03-02 10:40")
    with django_capture_on_commit_callbacks(execute=True):
        _do("pending", ticket, alice)
    assert run("2026-03-02 11:30") == 0  # stopped: not escalated
    clock.set(BERLIN, "2026-03-03 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        _do("open", ticket, alice)
    ticket.refresh_from_db()
    # 20 minutes were left when it stopped.
    assert ticket.first_response_due == clock.now.replace(minute=20)
    assert run("2026-03-03 09:10") == 0  # no second warning
    assert run("2026-03-03 09:20") == 1
    assert [title for title, _ in _notices()] == ["Escalation soon", "Escalated"]


def test_a_reply_before_the_due_time_escalates_nothing(
    owned, clock, django_capture_on_commit_callbacks
):
    ticket, alice = owned
    clock.set(BERLIN, "2026-03-02 10:00")
    with django_capture_on_commit_callbacks(execute=True):
        _do("reply", ticket, alice)
    assert _run(clock, django_capture_on_commit_callbacks, "2026-03-02 11:30") == 0
    assert _notices() == []


def test_nobody_holds_it_the_queues_followers_hear(
    desk, clock, django_capture_on_commit_callbacks
):
    from helpline.actions import admin
    from helpline.actions.preferences import set_preferences
    from helpline.models import Permission

    queue, alice = desk
    bob = make_agent("bob")
    admin.grant(queue.group, [Permission.RO], agent=bob)
    set_preferences(bob, followed_queue_ids=[queue.pk])
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(queue)
    assert _run(clock, django_capture_on_commit_callbacks, "2026-03-02 11:00") == 1
    assert _notices() == [("Escalated", bob.email)]


def test_a_closed_ticket_is_not_escalated(
    owned, clock, django_capture_on_commit_callbacks
):
    ticket, alice = owned
    clock.set(BERLIN, "2026-03-02 10:00")
    with django_capture_on_commit_callbacks(execute=True):
        tickets.close_ticket(alice, ticket.pk, note="done")
    assert _run(clock, django_capture_on_commit_callbacks, "2026-03-05 10:00") == 0
    assert _notices() == []
