"""Several stored messages processed in one transaction: each in a savepoint of its
own, so one that fails is quarantined while the others commit; a failure of the
batch as a whole or a crash loses nothing; the batch's tickets are indexed inside it.
"""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError, connection

from helpline import jobs
from helpline.actions import admin
from helpline.mail import chain, postmaster
from helpline.mail.intake import receive
from helpline.models import (
    Article,
    InboundMessage,
    InboundStatus,
    Permission,
    Ticket,
    TicketCounter,
)
from helpline.search import indexer, search_tickets
from tests.mail.messages import mail
from tests.support import make_agent, make_group, make_queue


class Crash(BaseException):
    """What a killed process looks like to the code it interrupts: not an Exception."""


@pytest.fixture
def org(db):
    group = make_group("info")
    info = make_queue("info-en", group=group, email="info-en@helpline.localhost")
    raw = make_queue("Raw", group=group)
    agent = make_agent("alice")
    admin.grant(group, [Permission.RW], agent=agent)
    return {"group": group, "info": info, "raw": raw, "agent": agent}


def store(*raws: bytes) -> list[int]:
    return [receive(raw, transport="test")[0].pk for raw in raws]


def statuses(ids: list[int]) -> list[str]:
    by_id = dict(InboundMessage.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [by_id[pk] for pk in ids]


def fail_on(monkeypatch, subject: str, error: BaseException, *, times: int = 99):
    """Make the store stage raise ``error`` for messages with this subject."""

    def fail() -> None:
        raise error

    run_instead(monkeypatch, subject, fail, times=times)


def run_instead(monkeypatch, subject: str, action, *, times: int = 99) -> None:
    """Run ``action`` instead of the store stage for messages with this subject."""
    real = chain.plan_ticket
    left = [times]

    def plan_ticket(message, parsed, *args, **kwargs):
        if parsed.subject == subject and left[0] > 0:
            left[0] -= 1
            action()
        return real(message, parsed, *args, **kwargs)

    monkeypatch.setattr(chain, "plan_ticket", plan_ticket)


@pytest.mark.django_db
def test_a_batch_makes_tickets_and_threads_a_reply_to_a_message_of_the_same_batch(
    org,
):
    first = mail(subject="Opening hours", message_id="<batch-root@example.net>")
    reply = mail(
        subject="Re: Opening hours",
        in_reply_to="<batch-root@example.net>",
        references="<batch-root@example.net>",
    )
    other = mail(subject="Another question", sender="Bo <bo@example.net>")
    ids = store(first, reply, other)

    done = postmaster.process_batch(ids)

    assert [m.pk for m in done] == ids
    assert statuses(ids) == [InboundStatus.PROCESSED] * 3
    root, answer, second = (InboundMessage.objects.get(pk=pk) for pk in ids)
    assert answer.ticket == root.ticket
    assert answer.decisions["follow_up"] == "references"
    assert second.ticket != root.ticket
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_a_batch_draws_its_ticket_numbers_at_its_end_in_order_without_gaps(
    org, monkeypatch
):
    """The ticket counter stays locked from drawing to the commit: a batch draws its
    numbers after everything else, and a ticket rolled back draws none."""
    counters = []
    real, real_together = chain.new_ticket, chain.new_tickets

    def new_ticket(plan, result):
        counters.append(list(TicketCounter.objects.values_list("value", flat=True)))
        real(plan, result)
        if plan.title == "Rolled back":
            raise ValueError("after its ticket was written")

    def new_tickets(plans, results):
        # Together first: one fails, so they are written again one by one.
        counters.append(list(TicketCounter.objects.values_list("value", flat=True)))
        real_together(plans, results)
        if any(plan.title == "Rolled back" for plan in plans):
            raise ValueError("after its ticket was written")

    monkeypatch.setattr(chain, "new_ticket", new_ticket)
    monkeypatch.setattr(chain, "new_tickets", new_tickets)
    [first] = store(mail(subject="Before the batch"))
    postmaster.process_inbound(first)
    before = TicketCounter.objects.get().value
    ids = store(
        mail(subject="New A"), mail(subject="Rolled back"), mail(subject="New B")
    )

    done = postmaster.process_batch(ids)

    assert counters[1:] == [[before]] * 4  # nothing drawn while the batch ran
    assert TicketCounter.objects.get().value == before + 2
    a, b = Ticket.objects.get(title="New A"), Ticket.objects.get(title="New B")
    assert int(b.number[-6:-1]) == int(a.number[-6:-1]) + 1  # counter, check digit
    assert [m.ticket.number for m in done if m.ticket] == [a.number, b.number]
    assert not Ticket.objects.filter(number__startswith="~").exists()


@pytest.mark.django_db
def test_the_same_message_twice_in_a_batch_is_one_ticket_and_a_duplicate(org):
    first = mail(subject="Twice", message_id="<twice@example.net>", body="Same.")
    again = mail(
        subject="Twice", message_id="<twice@example.net>", body="Same.", cc="x@y.net"
    )
    ids = store(first, again)

    postmaster.process_batch(ids)

    assert statuses(ids) == [InboundStatus.PROCESSED, InboundStatus.REJECTED]
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_a_message_stored_before_is_a_duplicate_in_a_batch_however_its_id_is_folded(
    org,
):
    plain = mail(subject="Folded", message_id="<folded@example.net>", body="Once.")
    postmaster.process_inbound(store(plain)[0])
    # The same message again, once as it was and once with the Message-ID folded
    # onto a line of its own (storing unfolds it: the id is the same).
    again = plain.replace(b"Subject: Folded", b"Subject: Folded\nX-Resent: yes")
    folded = plain.replace(
        b"Message-ID: <folded@example.net>", b"Message-ID:\n <folded@example.net>"
    )
    assert folded != plain
    ids = store(mail(subject="Fresh"), again, folded)
    assert InboundMessage.objects.get(pk=ids[2]).message_id == "folded@example.net"

    postmaster.process_batch(ids)

    assert statuses(ids) == [
        InboundStatus.PROCESSED,
        InboundStatus.REJECTED,
        InboundStatus.REJECTED,
    ]
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_one_failing_message_is_quarantined_and_the_rest_of_its_batch_commits(
    org, monkeypatch
):
    fail_on(monkeypatch, "Broken one", ValueError("the store stage broke"))
    ids = store(
        mail(subject="Good one"),
        mail(subject="Broken one"),
        mail(subject="Good two"),
    )

    postmaster.process_batch(ids)

    assert statuses(ids) == [
        InboundStatus.PROCESSED,
        InboundStatus.QUARANTINED,
        InboundStatus.PROCESSED,
    ]
    broken = InboundMessage.objects.get(pk=ids[1])
    assert broken.reason == "ValueError: the store stage broke"
    assert "Traceback" in broken.error and "the store stage broke" in broken.error
    assert broken.attempts == 1 and broken.ticket is None
    assert sorted(Ticket.objects.values_list("title", flat=True)) == [
        "Good one",
        "Good two",
    ]
    monkeypatch.undo()
    replayed = postmaster.replay(ids[1])
    assert replayed.status == InboundStatus.PROCESSED
    assert replayed.ticket.title == "Broken one"
    assert replayed.attempts == 2


@pytest.mark.django_db
def test_a_message_that_fails_while_threading_is_quarantined_alone(org, monkeypatch):
    """Threading writes nothing and runs without a savepoint of its own."""
    real = chain.find_thread

    def find_thread(parsed, classification):
        if parsed.subject == "Unthreadable":
            raise LookupError("threading broke")
        return real(parsed, classification)

    monkeypatch.setattr(chain, "find_thread", find_thread)
    ids = store(mail(subject="Threadable"), mail(subject="Unthreadable"))

    postmaster.process_batch(ids)

    assert statuses(ids) == [InboundStatus.PROCESSED, InboundStatus.QUARANTINED]
    broken = InboundMessage.objects.get(pk=ids[1])
    assert broken.reason == "LookupError: threading broke"
    assert broken.attempts == 1


@pytest.mark.django_db
def test_a_message_that_fails_in_the_database_is_quarantined_alone(org, monkeypatch):
    """A failing statement in one message's savepoint leaves the batch usable (on
    PostgreSQL an error aborts the transaction up to the savepoint)."""

    def bad_statement() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM helpline_ticket")

    run_instead(monkeypatch, "Bad statement", bad_statement)
    ids = store(
        mail(subject="Good statement"),
        mail(subject="Bad statement"),
        mail(subject="Good again"),
    )

    postmaster.process_batch(ids)

    assert statuses(ids) == [
        InboundStatus.PROCESSED,
        InboundStatus.QUARANTINED,
        InboundStatus.PROCESSED,
    ]
    assert "no_such_column" in InboundMessage.objects.get(pk=ids[1]).reason
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_mail_without_a_queue_is_quarantined_and_its_batch_commits(org):
    org["raw"].delete()  # mail to an unknown address has no queue to go to
    ids = store(
        mail(subject="Known address"),
        mail(subject="Unknown address", to="nobody@elsewhere.example"),
    )

    postmaster.process_batch(ids)

    assert statuses(ids) == [InboundStatus.PROCESSED, InboundStatus.QUARANTINED]
    assert "default queue 'Raw' does not exist" in (
        InboundMessage.objects.get(pk=ids[1]).reason
    )


@pytest.mark.django_db
def test_a_crash_in_the_middle_of_a_batch_loses_nothing_and_replays_once(
    org, monkeypatch
):
    raws = [mail(subject=f"Question {i}") for i in range(5)]
    ids = store(*raws)
    fail_on(monkeypatch, "Question 3", Crash())

    with pytest.raises(Crash):
        postmaster.process_batch(ids)

    # Nothing of the batch was committed, not even the messages before the crash.
    assert statuses(ids) == [InboundStatus.RECEIVED] * 5
    assert not Ticket.objects.exists() and not Article.objects.exists()
    monkeypatch.undo()
    assert store(*raws) == ids  # the transport delivers again: the same messages
    postmaster.process_batch(ids)
    postmaster.process_batch(ids)  # and once more (a job delivered twice)
    for pk in ids:
        postmaster.replay(pk)
    assert statuses(ids) == [InboundStatus.PROCESSED] * 5
    assert Ticket.objects.count() == 5
    assert Article.objects.count() == 5


@pytest.mark.django_db
def test_a_database_error_gives_up_the_batch_and_each_message_goes_alone(
    org, monkeypatch, caplog
):
    fail_on(monkeypatch, "Unlucky", OperationalError("deadlock detected"), times=1)
    ids = store(mail(subject="Lucky"), mail(subject="Unlucky"), mail(subject="Last"))

    with caplog.at_level(logging.WARNING, logger="helpline.mail.postmaster"):
        done = postmaster.process_batch(ids)

    assert "one per transaction" in caplog.text
    assert [m.pk for m in done] == ids
    assert statuses(ids) == [InboundStatus.PROCESSED] * 3
    assert Ticket.objects.count() == 3
    assert all(m.attempts == 1 for m in InboundMessage.objects.filter(pk__in=ids))


@pytest.mark.django_db
def test_a_database_error_that_stays_quarantines_only_its_message(org, monkeypatch):
    fail_on(monkeypatch, "Cursed", OperationalError("the disk is full"))
    ids = store(mail(subject="Fine"), mail(subject="Cursed"), mail(subject="Fine too"))

    postmaster.process_batch(ids)

    assert statuses(ids) == [
        InboundStatus.PROCESSED,
        InboundStatus.QUARANTINED,
        InboundStatus.PROCESSED,
    ]
    assert "the disk is full" in InboundMessage.objects.get(pk=ids[1]).reason


@pytest.mark.django_db
def test_a_batch_leaves_processed_messages_alone(org):
    ids = store(mail(subject="Once"), mail(subject="Twice"))
    postmaster.process_batch(ids[:1])
    done = postmaster.process_batch(ids)
    assert [m.pk for m in done] == ids[1:]
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_the_batch_indexes_its_tickets_itself_and_queues_no_indexing_job(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(indexer, "reindex_ticket_job", queued.append)
    ids = store(
        mail(subject="Lighthouse keepers", body="About the zebrafinch archive."),
        mail(subject="Harbour", body="Nothing about birds."),
    )

    with django_capture_on_commit_callbacks(execute=True):
        postmaster.process_batch(ids)

    assert queued == []
    found = search_tickets(org["agent"], "zebrafinch").ticket_ids
    assert found == [InboundMessage.objects.get(pk=ids[0]).ticket_id]


@pytest.mark.django_db
def test_the_job_takes_the_messages_waiting_after_its_own_not_those_before(org):
    ids = store(*(mail(subject=f"Waiting {i}") for i in range(4)))

    jobs.process_inbound_job.call_local(ids[1])

    assert statuses(ids) == [InboundStatus.RECEIVED] + [InboundStatus.PROCESSED] * 3
    # The jobs of the messages it took find them done.
    assert jobs.process_inbound_job.call_local(ids[2]) == "done before"
    assert jobs.process_inbound_job.call_local(ids[0]) == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 4


@pytest.mark.django_db
def test_the_job_batch_is_as_large_as_configured(org, settings):
    settings.HELPLINE_INBOUND_BATCH = 2
    ids = store(*(mail(subject=f"Sized {i}") for i in range(4)))

    jobs.process_inbound_job.call_local(ids[0])

    assert statuses(ids) == [InboundStatus.PROCESSED] * 2 + [InboundStatus.RECEIVED] * 2


@pytest.mark.django_db
def test_a_batch_of_the_job_leaves_quarantined_messages_to_replay(org, monkeypatch):
    ids = store(mail(subject="First"), mail(subject="Quarantined earlier"))
    fail_on(monkeypatch, "Quarantined earlier", ValueError("broken"))
    postmaster.process_inbound(ids[1])
    monkeypatch.undo()

    jobs.process_inbound_job.call_local(ids[0])

    assert statuses(ids) == [InboundStatus.PROCESSED, InboundStatus.QUARANTINED]
    assert InboundMessage.objects.get(pk=ids[1]).attempts == 1
