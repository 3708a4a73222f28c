"""A follow-up to an archived ticket brings it back out of the archive."""

from __future__ import annotations

import pytest

from helpline.actions import admin, tickets
from helpline.actions.periodic import archive_closed
from helpline.mail.intake import receive_and_dispatch
from helpline.models import (
    FollowUpOption,
    HistoryType,
    InboundStatus,
    Permission,
    Ticket,
)
from helpline.search import search_tickets
from tests.mail.messages import mail
from tests.support import make_agent, make_group, make_queue

# Committed transactions: the search index is written after commit.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def archived():
    group = make_group("info")
    queue = make_queue("info-en", group=group, email="info-en@helpline.localhost")
    agent = make_agent("alice")
    admin.grant(group, [Permission.RW], agent=agent)
    ticket = receive_and_dispatch(
        mail(subject="Old question", body="about the walrus"), transport="test"
    ).ticket
    tickets.close_ticket(agent, ticket.pk, note="answered")
    assert archive_closed(older_than_days=-1) == 1  # closed "long enough ago"
    ticket.refresh_from_db()
    assert ticket.archived
    assert search_tickets(agent, "walrus").ticket_ids == []  # archived: left out
    return queue, agent, ticket


def test_a_follow_up_reopens_and_unarchives_the_ticket(archived):
    _, agent, ticket = archived
    message = receive_and_dispatch(
        mail(subject=f"Re: [Ticket#{ticket.number}] Old question"), transport="test"
    )
    assert message.status == InboundStatus.PROCESSED
    assert message.ticket == ticket
    ticket.refresh_from_db()
    assert not ticket.archived
    assert ticket.state.name == "open"
    assert ticket.history.filter(type=HistoryType.UNARCHIVED).exists()
    assert search_tickets(agent, "walrus").ticket_ids == [ticket.pk]


def test_a_rejected_follow_up_leaves_the_ticket_archived_and_closed(archived):
    queue, _, ticket = archived
    queue.follow_up = FollowUpOption.REJECT
    queue.save()
    message = receive_and_dispatch(
        mail(subject=f"Re: [Ticket#{ticket.number}] Old question"), transport="test"
    )
    assert message.status == InboundStatus.PROCESSED
    ticket.refresh_from_db()
    assert ticket.archived and ticket.state.name == "closed successful"
    assert Ticket.objects.count() == 1
