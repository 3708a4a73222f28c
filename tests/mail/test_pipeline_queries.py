"""The queries one inbound message costs do not grow with the data: the same number
for the third ticket and for one among many tickets, queues, filters and articles.

Measured over what a message really costs: storing it (``receive``), processing it
(``process_inbound``) and what runs after the commit (search indexing, the
auto-response and notification hooks).
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.actions import admin
from helpline.mail.intake import receive
from helpline.mail.postmaster import process_batch, process_inbound
from helpline.models import InboundMessage, InboundStatus, PostmasterFilter, Ticket
from tests.mail.messages import mail
from tests.support import make_group, make_queue

# Upper bounds, so that a change that adds statements to every message is noticed
# (what the tests are about is that the counts stay the same as the data grows).
# On SQLite, six of them are the savepoints of the three transactions (store,
# process, index), which the test's own transaction turns them into; PostgreSQL
# indexes with five statements instead of two: a shared lock against learning new
# common words, the common words, the entry (search/postgres.py), and, as entries
# record who may see the ticket, a share lock on its queue's row and its watchers
# (search/indexer.py).  After the message's transactions, service levels read the
# changed tickets once to recompute their escalation times (actions/escalations.py:
# one SELECT in a transaction of its own, three statements inside the test's).
MAX_NEW_TICKET = 27
MAX_FOLLOW_UP = 26

_senders = itertools.count(1)


def _new_mail(**kwargs: str) -> bytes:
    """A first message from a sender never seen before."""
    return mail(sender=f"Reader <reader{next(_senders)}@example.net>", **kwargs)


def _reply(ticket: Ticket, in_reply_to: str, **kwargs: str) -> bytes:
    """A reply by ``ticket``'s customer to one of its mails: an inbound mail's own
    Message-ID threads only for a participant (followup._trusted)."""
    assert ticket.customer is not None
    return mail(sender=ticket.customer.email, in_reply_to=f"<{in_reply_to}>", **kwargs)


@pytest.fixture
def org(db):
    group = make_group("info")
    make_queue("info-en", group=group, email="info-en@helpline.localhost")
    make_queue("Raw", group=group)
    return group


@pytest.fixture
def measure(django_capture_on_commit_callbacks):
    def run(raw: bytes) -> tuple[InboundMessage, int]:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            message, created = receive(raw, transport="test")
            assert created
            message = process_inbound(message.pk)
        assert message.status == InboundStatus.PROCESSED, message.error
        return message, len(queries.captured_queries)

    return run


def _grow(group, measure) -> Ticket:
    """Many tickets, queues with addresses, filters, and one long thread; returns the
    ticket of the long thread."""
    for i in range(12):
        make_queue(f"more-{i}", group=group, email=f"more-{i}@helpline.localhost")
        PostmasterFilter.objects.create(
            name=f"filter {i}",
            order=i,
            matches=[{"header": "Subject", "regex": f"^never matches {i}$"}],
            sets={"priority": 1},
        )
    for _ in range(30):
        measure(_new_mail())
    first, _ = measure(_new_mail(subject="A long thread"))
    last = first.article.message_id
    for _ in range(25):
        reply, _ = measure(_reply(first.ticket, last, references=f"<{last}>"))
        last = reply.article.message_id
    assert first.ticket.articles.count() == 26
    return first.ticket


@pytest.mark.django_db
def test_a_new_ticket_and_a_follow_up_cost_the_same_queries_however_big_the_data(
    org, measure
):
    first, _ = measure(_new_mail())
    measure(_new_mail())
    second, new_small = measure(_new_mail())
    parent = second.article.message_id
    _, reply_small = measure(_reply(second.ticket, parent))

    thread = _grow(org, measure)
    measure(_new_mail())  # the configuration changed: re-read once
    many, new_large = measure(_new_mail())
    last = thread.articles.order_by("-id").first().message_id
    reply, reply_large = measure(_reply(thread, last))

    assert Ticket.objects.count() > 30
    assert many.ticket.articles.count() == 1
    assert reply.ticket == thread
    assert (new_large, reply_large) == (new_small, reply_small)
    assert new_small <= MAX_NEW_TICKET
    assert reply_small <= MAX_FOLLOW_UP


@pytest.mark.django_db
def test_the_configuration_is_read_once_not_for_every_message(org, measure):
    """Addresses, filters, queues and states come from the process's snapshot: a
    message after a configuration change costs more than the one after it."""
    measure(_new_mail())
    admin.create_queue("press", group=org, email="press@helpline.localhost")
    _, rereading = measure(_new_mail())
    _, steady = measure(_new_mail(to="press@helpline.localhost"))
    assert steady < rereading


@pytest.fixture
def measure_batch(django_capture_on_commit_callbacks):
    """Statements for storing ``raws`` one by one and processing them as one batch
    (with what runs after its commit)."""

    def run(raws: list[bytes]) -> tuple[list[InboundMessage], int]:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            ids = [receive(raw, transport="test")[0].pk for raw in raws]
            done = process_batch(ids)
        assert [m.status for m in done] == [InboundStatus.PROCESSED] * len(raws)
        return done, len(queries.captured_queries)

    return run


def _batch_of(thread: InboundMessage, size: int = 6) -> list[bytes]:
    """Half new messages, half replies (by its customer) to an earlier ticket."""
    raws = []
    for i in range(size):
        if i % 2:
            raws.append(_reply(thread.ticket, thread.article.message_id))
        else:
            raws.append(_new_mail(subject=f"Batch question {i}"))
    return raws


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_however_big_the_data_and_fewer_than_one_by_one(
    org, measure, measure_batch
):
    root, _ = measure(_new_mail(subject="The thread"))
    measure_batch(_batch_of(root))  # the configuration read once
    _, small = measure_batch(_batch_of(root))

    _grow(org, measure)
    measure_batch(_batch_of(root))  # the configuration changed: re-read once
    done, large = measure_batch(_batch_of(root))

    assert Ticket.objects.count() > 30
    assert {m.ticket for m in done[1::2]} == {root.ticket}
    assert large == small
    one_by_one = sum(measure(raw)[1] for raw in _batch_of(root))
    assert small < one_by_one - 6 * 7  # at least seven statements a message fewer


@pytest.mark.django_db
def test_a_batch_writes_its_new_tickets_in_statements_that_do_not_grow_with_them(
    org, measure, measure_batch
):
    """Customers, tickets, first articles and history entries: one insert each for
    all of a batch's new tickets, and one update for all the messages' outcomes.
    What is left for each message: storing it."""
    measure_batch([_new_mail(subject="Warm-up")])  # the configuration read once
    measure_batch([_new_mail(subject=f"Warm-up {i}") for i in range(2)])
    _, three = measure_batch([_new_mail(subject=f"Three {i}") for i in range(3)])
    _, nine = measure_batch([_new_mail(subject=f"Nine {i}") for i in range(9)])
    with CaptureQueriesContext(connection) as queries:
        receive(_new_mail(subject="Stored only"), transport="test")
    storing = len(queries.captured_queries)

    # Six messages more: six stored, nothing else.
    assert nine - three == 6 * storing
