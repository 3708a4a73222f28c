"""Merge, un-merge, split and link (BEHAVIOUR.md section 7)."""

from __future__ import annotations

import pytest

from helpline.actions import admin, merge, tickets
from helpline.errors import Conflict, InvalidInput
from helpline.models import Article, HistoryType, LinkType, Permission, TicketLink
from tests.support import make_agent, make_ticket


@pytest.fixture
def agent(queue):
    agent = make_agent("alice")
    admin.grant(queue.group, [Permission.RW], agent=agent)
    return agent


@pytest.mark.django_db
def test_merging_moves_articles_and_leaves_a_merged_ticket(queue, agent):
    source, target = make_ticket(queue, body="first"), make_ticket(queue, body="second")
    merge.merge_tickets(agent, source.pk, target.pk)
    source.refresh_from_db()
    assert source.state.name == "merged"
    assert source.merged_into == target
    assert not source.locked
    bodies = set(target.articles.values_list("body_text", flat=True))
    assert {"first", "second"} <= bodies
    note = source.articles.get()
    # The note is read by everyone who reads the source: it names no ticket.
    assert note.body_text == merge.MERGE_NOTE
    assert target.number not in note.body_text
    assert not note.visible_to_customer
    assert TicketLink.objects.filter(
        source=target, target=source, type=LinkType.PARENT_CHILD
    ).exists()
    assert source.history.filter(type=HistoryType.MERGED).exists()
    assert target.history.filter(type=HistoryType.MERGED).exists()


@pytest.mark.django_db
def test_mail_for_a_merged_ticket_resolves_to_its_target(queue, agent):
    a, b, c = (make_ticket(queue) for _ in range(3))
    merge.merge_tickets(agent, a.pk, b.pk)
    merge.merge_tickets(agent, b.pk, c.pk)
    a.refresh_from_db()
    assert merge.resolve_merged(a) == c


@pytest.mark.django_db
def test_a_merge_can_be_undone(queue, agent):
    source, target = make_ticket(queue, body="first"), make_ticket(queue, body="second")
    tickets.set_state(agent, source.pk, "open")
    merge.merge_tickets(agent, source.pk, target.pk)
    source = merge.unmerge_ticket(agent, source.pk)
    assert source.state.name == "open"
    assert source.merged_into is None
    assert source.articles.filter(body_text="first").exists()
    assert not target.articles.filter(body_text="first").exists()


@pytest.mark.django_db
def test_merging_into_itself_or_a_merged_ticket_is_refused(queue, agent):
    a, b, c = (make_ticket(queue) for _ in range(3))
    with pytest.raises(InvalidInput):
        merge.merge_tickets(agent, a.pk, a.pk)
    merge.merge_tickets(agent, a.pk, b.pk)
    with pytest.raises(Conflict):
        merge.merge_tickets(agent, c.pk, a.pk)


@pytest.mark.django_db
def test_merging_needs_rw_on_both_tickets(queue, agent):
    from helpline.errors import TicketNotFound
    from tests.support import make_queue

    foreign = make_ticket(make_queue("Foreign"))
    mine = make_ticket(queue)
    with pytest.raises(TicketNotFound):
        merge.merge_tickets(agent, mine.pk, foreign.pk)
    assert Article.objects.filter(ticket=mine).count() == 1


@pytest.mark.django_db
def test_splitting_an_article_makes_a_linked_child_ticket(queue, agent):
    original = make_ticket(queue, body="two questions", customer="x@example.net")
    article = original.articles.get()
    child = merge.split_article(agent, article.pk, title="Second question")
    assert child.title == "Second question"
    assert child.customer.email == "x@example.net"
    assert child.articles.get().body_text == "two questions"
    assert TicketLink.objects.filter(
        source=original, target=child, type=LinkType.PARENT_CHILD
    ).exists()


@pytest.mark.django_db
def test_normal_links_are_stored_once_whichever_side_links(queue, agent):
    a, b = make_ticket(queue), make_ticket(queue)
    merge.link_tickets(agent, a.pk, b.pk)
    merge.link_tickets(agent, b.pk, a.pk)
    assert TicketLink.objects.count() == 1
    assert merge.unlink_tickets(agent, b.pk, a.pk) == 1
    assert TicketLink.objects.count() == 0
