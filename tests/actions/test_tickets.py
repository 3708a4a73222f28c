"""Ticket actions: what each change implies, and the history it leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpline.actions import admin, articles, tickets
from helpline.errors import InvalidInput
from helpline.models import HistoryEntry, HistoryType, Permission, StateType
from tests.support import make_agent, make_queue, make_ticket


@pytest.fixture
def agent(queue):
    agent = make_agent("alice")
    admin.grant(queue.group, [Permission.RW], agent=agent)
    return agent


def _types(ticket):
    return list(
        HistoryEntry.objects.filter(ticket=ticket)
        .order_by("id")
        .values_list("type", flat=True)
    )


@pytest.mark.django_db
def test_a_new_ticket_has_the_otrs_defaults(queue):
    ticket = make_ticket(queue)
    assert ticket.state.name == "new"
    assert ticket.state_type == StateType.NEW
    assert ticket.priority == 3
    assert not ticket.locked
    assert ticket.owner is None
    assert ticket.customer.email == "customer@example.net"
    assert _types(ticket) == [HistoryType.CREATED, HistoryType.ARTICLE]


@pytest.mark.django_db
def test_pending_states_need_a_time_and_leaving_them_clears_it(queue, agent):
    ticket = make_ticket(queue)
    with pytest.raises(InvalidInput, match="needs a pending time"):
        tickets.set_state(agent, ticket.pk, "pending reminder")
    when = timezone.now() + timedelta(days=2)
    ticket = tickets.set_state(agent, ticket.pk, "pending reminder", pending_until=when)
    assert ticket.pending_until == when
    ticket = tickets.set_state(agent, ticket.pk, "open")
    assert ticket.pending_until is None
    with pytest.raises(InvalidInput, match="takes no pending time"):
        tickets.set_state(agent, ticket.pk, "open", pending_until=when)


@pytest.mark.django_db
def test_the_pending_time_is_kept_in_utc_whatever_offset_it_came_with(queue, agent):
    ticket = make_ticket(queue)
    # PostgreSQL refuses offsets beyond 15:59; Python allows up to a day.
    odd = timezone.now().replace(microsecond=0).astimezone(
        timezone.get_fixed_timezone(-(19 * 60 + 27))
    ) + timedelta(days=3)
    ticket = tickets.set_state(agent, ticket.pk, "pending reminder", pending_until=odd)
    ticket.refresh_from_db()
    assert ticket.pending_until == odd
    assert ticket.pending_until.utcoffset() == timedelta(0)


@pytest.mark.django_db
@pytest.mark.parametrize("years", [-101, 101])
def test_a_pending_time_centuries_away_is_refused(queue, agent, years):
    ticket = make_ticket(queue)
    when = timezone.now() + timedelta(days=366 * years)
    with pytest.raises(InvalidInput, match="within 100 years"):
        tickets.set_state(agent, ticket.pk, "pending reminder", pending_until=when)
    ticket.refresh_from_db()
    assert ticket.state.name == "new"


@pytest.mark.django_db
def test_closing_needs_a_note_and_unlocks(queue, agent):
    ticket = make_ticket(queue)
    with pytest.raises(InvalidInput, match="needs a note"):
        tickets.close_ticket(agent, ticket.pk, note="  ")
    ticket = tickets.close_ticket(agent, ticket.pk, note="Answered by phone.")
    assert ticket.state_type == StateType.CLOSED
    assert ticket.closed_at is not None
    assert not ticket.locked
    assert ticket.owner == agent  # the close locked it to her first, as OTRS does
    assert ticket.articles.filter(body_text="Answered by phone.").exists()
    assert HistoryType.UNLOCKED in _types(ticket)


@pytest.mark.django_db
def test_merged_state_cannot_be_set_directly(queue, agent):
    ticket = make_ticket(queue)
    with pytest.raises(InvalidInput, match="merge"):
        tickets.set_state(agent, ticket.pk, "merged")


@pytest.mark.django_db
def test_moving_records_history_and_unlocks(queue, agent):
    other = make_queue("Other")
    admin.grant(other.group, [Permission.MOVE_INTO], agent=agent)
    ticket = make_ticket(queue)
    ticket = tickets.move_ticket(agent, ticket.pk, other)
    assert ticket.queue == other
    assert not ticket.locked
    moved = HistoryEntry.objects.get(ticket=ticket, type=HistoryType.MOVED)
    assert moved.data == {"old": queue.name, "new": "Other"}
    assert moved.actor == agent


@pytest.mark.django_db
def test_moving_into_a_queue_without_move_into_is_refused(queue, agent):
    from helpline.errors import PermissionDenied

    other = make_queue("Closed shop")
    ticket = make_ticket(queue)
    with pytest.raises(PermissionDenied):
        tickets.move_ticket(agent, ticket.pk, other)


@pytest.mark.django_db
def test_archiving_only_closed_tickets_and_reopening_unarchives(queue, agent):
    ticket = make_ticket(queue)
    with pytest.raises(InvalidInput, match="only closed"):
        tickets.archive_ticket(agent, ticket.pk)
    tickets.close_ticket(agent, ticket.pk, note="done")
    tickets.watch_ticket(agent, ticket.pk)
    ticket = tickets.archive_ticket(agent, ticket.pk)
    assert ticket.archived
    assert not ticket.watchers.exists()
    ticket = tickets.set_state(agent, ticket.pk, "open")
    assert not ticket.archived
    assert HistoryType.UNARCHIVED in _types(ticket)


@pytest.mark.django_db
def test_every_change_bumps_the_version(queue, agent):
    ticket = make_ticket(queue)
    before = ticket.version
    ticket = tickets.set_priority(agent, ticket.pk, 4)
    assert ticket.version > before


@pytest.mark.django_db
def test_priority_outside_one_to_five_is_refused(queue, agent):
    ticket = make_ticket(queue)
    with pytest.raises(InvalidInput, match="1 to 5"):
        tickets.set_priority(agent, ticket.pk, 9)


@pytest.mark.django_db
def test_notes_are_hidden_from_the_customer_and_phone_calls_are_not(queue, agent):
    ticket = make_ticket(queue)
    note = articles.add_note(agent, ticket.pk, "internal remark")
    call = articles.add_article(
        agent, ticket.pk, articles.NewArticle(channel="phone", body_text="called")
    )
    assert not note.visible_to_customer
    assert call.visible_to_customer


@pytest.mark.django_db
def test_an_empty_article_is_refused(queue, agent):
    ticket = make_ticket(queue)
    with pytest.raises(InvalidInput, match="needs a text"):
        articles.add_note(agent, ticket.pk, "   ")


@pytest.mark.django_db
def test_attachments_are_stored_once_by_content(queue, agent):
    ticket = make_ticket(queue)
    att = articles.NewAttachment("a.txt", "text/plain", b"same bytes")
    for _ in range(2):
        articles.add_article(
            agent, ticket.pk, articles.NewArticle(body_text="x", attachments=[att])
        )
    from helpline.models import Attachment, Blob

    assert Attachment.objects.filter(article__ticket=ticket).count() == 2
    assert Blob.objects.filter(size=len(b"same bytes")).count() == 1


@pytest.mark.django_db
def test_history_is_append_only(queue):
    ticket = make_ticket(queue)
    entry = HistoryEntry.objects.filter(ticket=ticket).first()
    entry.data = {"forged": True}
    with pytest.raises(ValueError, match="append-only"):
        entry.save()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_changes_are_announced_again_after_a_rolled_back_transaction():
    from django.db import transaction

    from helpline.actions import events

    queue = make_queue("Announced")
    agent = make_agent("announcer")
    admin.grant(queue.group, [Permission.RW], agent=agent)
    seen: list[int] = []
    events.on_ticket_changed.append(seen.append)
    try:
        ticket = make_ticket(queue)
        with pytest.raises(RuntimeError), transaction.atomic():
            events.ticket_changed(ticket.pk)
            raise RuntimeError("rolled back")
        seen.clear()
        tickets.set_priority(agent, ticket.pk, 4)
        assert seen == [ticket.pk]
    finally:
        events.on_ticket_changed.remove(seen.append)
