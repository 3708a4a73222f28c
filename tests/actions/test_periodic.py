"""What the clock does: pending auto-close, reminders, unlock timeouts, archiving."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpline.actions import admin, articles, locks, periodic, tickets
from helpline.actions.articles import NewArticle
from helpline.blobstore import read_blob
from helpline.models import (
    ArticleChannel,
    HistoryType,
    OutboxMessage,
    Permission,
    SenderType,
    StateType,
    Ticket,
)
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db):
    group = make_group("Support")
    queue = make_queue("Info", group=group, unlock_timeout=30)
    alice = make_agent("alice")
    admin.grant(group, [Permission.RW], agent=alice)
    return queue, alice


def _age(ticket: Ticket, **fields) -> None:
    """Move a ticket's clock fields into the past, as time passing would."""
    Ticket.objects.filter(pk=ticket.pk).update(**fields)


def _notified(event_title: str) -> list[str]:
    return sorted(
        address
        for row in OutboxMessage.objects.all()
        for address in row.recipients
        if event_title in read_blob(row.raw).decode("utf-8", "replace")
    )


# --- pending auto close -------------------------------------------------------------
def test_pending_auto_close_goes_to_its_next_state_when_due(desk):
    queue, alice = desk
    soon = timezone.now() + timedelta(hours=1)
    due = tickets.set_state(
        alice, make_ticket(queue).pk, "pending auto close+", pending_until=soon
    )
    later = tickets.set_state(
        alice, make_ticket(queue).pk, "pending auto close-", pending_until=soon
    )
    _age(due, pending_until=timezone.now() - timedelta(minutes=1))
    assert periodic.close_expired_pending() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state.name, due.state_type) == ("closed successful", StateType.CLOSED)
    assert due.pending_until is None and due.closed_at is not None
    assert due.history.filter(type=HistoryType.STATE, actor=None).exists()
    assert later.state.name == "pending auto close-"
    assert periodic.close_expired_pending() == 0  # nothing twice


# --- pending reminders --------------------------------------------------------------
def test_a_reached_reminder_tells_the_owner_once_per_pending_time(desk):
    queue, alice = desk
    ticket = locks.lock_ticket(alice, make_ticket(queue).pk)
    soon = timezone.now() + timedelta(hours=1)
    tickets.set_state(alice, ticket.pk, "pending reminder", pending_until=soon)
    assert periodic.send_pending_reminders() == 0  # not yet
    _age(ticket, pending_until=timezone.now() - timedelta(minutes=1))
    assert periodic.send_pending_reminders() == 1
    assert _notified("Reminder reached") == ["alice@example.org"]
    assert periodic.send_pending_reminders() == 0  # reminded already
    # A new pending time reached later reminds again.
    tickets.set_state(alice, ticket.pk, "pending reminder", pending_until=soon)
    _age(ticket, pending_until=timezone.now())
    assert periodic.send_pending_reminders() == 1
    assert _notified("Reminder reached") == ["alice@example.org"] * 2


# --- unlock timeout -----------------------------------------------------------------
def test_a_lock_older_than_the_queues_timeout_is_released_and_the_owner_told(desk):
    queue, alice = desk
    stale = locks.lock_ticket(alice, make_ticket(queue).pk)
    fresh = locks.lock_ticket(alice, make_ticket(queue).pk)
    _age(stale, locked_at=timezone.now() - timedelta(minutes=31))
    _age(fresh, locked_at=timezone.now() - timedelta(minutes=29))
    assert periodic.unlock_timed_out() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert not stale.locked and stale.owner == alice  # the owner stays, the lock goes
    assert stale.history.filter(type=HistoryType.UNLOCKED).exists()
    assert fresh.locked
    assert _notified("Lock timed out") == ["alice@example.org"]


def test_an_agent_still_writing_keeps_the_lock(desk):
    queue, alice = desk
    ticket = locks.lock_ticket(alice, make_ticket(queue).pk)
    _age(ticket, locked_at=timezone.now() - timedelta(hours=2))
    articles.add_article(
        alice,
        ticket.pk,
        NewArticle(
            channel=ArticleChannel.INTERNAL,
            sender_type=SenderType.AGENT,
            body_text="Still checking the sources.",
        ),
    )
    assert periodic.unlock_timed_out() == 0
    ticket.refresh_from_db()
    assert ticket.locked


def test_queues_without_a_timeout_and_closed_tickets_keep_their_lock(desk):
    _, alice = desk
    group = make_group("Other")
    admin.grant(group, [Permission.RW], agent=alice)
    forever = make_queue("Forever", group=group)  # unlock_timeout 0: never
    ticket = locks.lock_ticket(alice, make_ticket(forever).pk)
    _age(ticket, locked_at=timezone.now() - timedelta(days=30))
    assert periodic.unlock_timed_out() == 0
    assert Ticket.objects.get(pk=ticket.pk).locked


def test_tickets_within_their_time_never_hide_due_ones_behind_the_batch(desk):
    queue, alice = desk
    kept = [locks.lock_ticket(alice, make_ticket(queue).pk) for _ in range(3)]
    for ticket in kept:  # old locks, but alice keeps writing
        _age(ticket, locked_at=timezone.now() - timedelta(hours=1))
        articles.add_article(
            alice,
            ticket.pk,
            NewArticle(channel=ArticleChannel.INTERNAL, body_text="working"),
        )
    due = locks.lock_ticket(alice, make_ticket(queue).pk)
    _age(due, locked_at=timezone.now() - timedelta(hours=1))
    assert periodic.unlock_timed_out(limit=2) == 1
    assert not Ticket.objects.get(pk=due.pk).locked


# --- archiving ----------------------------------------------------------------------
def test_closed_tickets_older_than_the_age_are_archived(desk, monkeypatch):
    queue, alice = desk
    monkeypatch.setattr(periodic, "BATCH", 2)  # several pages
    old = [
        tickets.close_ticket(alice, make_ticket(queue).pk, note="done")
        for _ in range(3)
    ]
    recent = tickets.close_ticket(alice, make_ticket(queue).pk, note="done")
    still_open = make_ticket(queue)
    for ticket in old:
        _age(ticket, closed_at=timezone.now() - timedelta(days=91))
    _age(still_open, changed=timezone.now() - timedelta(days=400))
    assert periodic.archive_closed(90) == 3
    archived = set(Ticket.objects.filter(archived=True).values_list("pk", flat=True))
    assert archived == {t.pk for t in old}
    assert not Ticket.objects.get(pk=recent.pk).archived
    assert not Ticket.objects.get(pk=still_open.pk).archived
    assert periodic.archive_closed(90) == 0
