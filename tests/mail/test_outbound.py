"""The outbox: mail survives an SMTP outage and is never sent twice after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpline.actions import admin
from helpline.mail import outbound
from helpline.models import HistoryType, OutboxMessage, OutboxStatus, Permission
from helpline.responses import replies
from tests.support import make_agent, make_group, make_queue, make_ticket


@pytest.fixture
def answered(db):
    group = make_group("info")
    queue = make_queue(
        "info-en",
        group=group,
        email="info-en@helpline.localhost",
        display_name="Wikipedia Info",
    )
    agent = make_agent("alice", first_name="Alice", last_name="Smith")
    admin.grant(group, [Permission.RW], agent=agent)
    ticket = make_ticket(queue, customer="jane@example.net")
    article = replies.reply(agent, ticket.pk, text="Thank you, fixed.")
    return ticket, article


def _due_now():
    OutboxMessage.objects.update(next_attempt=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_a_queued_reply_is_delivered_byte_for_byte(answered, smtp_sink):
    ticket, article = answered
    assert outbound.send_due() == {"sent": 1, "retry": 0, "failed": 0}
    [got] = smtp_sink.received
    from helpline.blobstore import read_blob

    assert got.data.replace(b"\r\n", b"\n") == read_blob(article.raw).replace(
        b"\r\n", b"\n"
    )
    assert got.rcpt_tos == ["jane@example.net"]
    assert got.mail_from == "info-en@helpline.localhost"
    assert (
        got.message["From"]
        == "Alice Smith via Wikipedia Info <info-en@helpline.localhost>"
    )
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT


@pytest.mark.django_db
def test_mail_waits_while_the_server_is_down_and_goes_when_it_returns(
    answered, smtp_sink
):
    smtp_sink.stop()
    assert outbound.send_due() == {"sent": 0, "retry": 1, "failed": 0}
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.QUEUED
    assert "cannot reach the SMTP server" in row.last_error
    assert row.next_attempt > timezone.now()
    assert outbound.send_due()["sent"] == 0  # not due yet: back-off
    smtp_sink.start()
    _due_now()
    assert outbound.send_due()["sent"] == 1
    assert len(smtp_sink.received) == 1


@pytest.mark.django_db
def test_a_temporary_refusal_retries_and_a_permanent_one_fails_visibly(
    answered, smtp_sink
):
    ticket, article = answered
    smtp_sink.handler.answers = ["451 4.3.0 try later"]
    assert outbound.send_due()["retry"] == 1
    _due_now()
    smtp_sink.handler.answers = ["554 5.7.1 rejected"]
    assert outbound.send_due()["failed"] == 1
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.FAILED
    assert "554" in row.last_error
    failure = ticket.history.get(type=HistoryType.DELIVERY_FAILED)
    assert failure.article == article


@pytest.mark.django_db
def test_after_the_last_retry_the_message_fails(answered, smtp_sink):
    smtp_sink.stop()
    for _ in range(len(outbound.BACKOFF) + 1):
        _due_now()
        outbound.send_due()
    assert OutboxMessage.objects.get().status == OutboxStatus.FAILED


@pytest.mark.django_db
def test_a_crash_between_sending_and_marking_sent_never_sends_twice(
    answered, smtp_sink, monkeypatch
):
    """The server took the message, then the worker died before recording it."""

    def crash(server, row):
        server.sendmail(row.envelope_from, row.recipients, outbound.read_blob(row.raw))
        raise SystemExit("worker killed")

    monkeypatch.setattr(outbound, "_send_one", crash)
    with pytest.raises(SystemExit):
        outbound.send_due()
    monkeypatch.undo()
    assert len(smtp_sink.received) == 1
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.SENDING
    # Later runs leave it alone while the claim holds, then mark it for a human.
    assert outbound.send_due()["sent"] == 0
    OutboxMessage.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    outbound.send_due()
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert "may or may not have been delivered" in row.last_error
    assert len(smtp_sink.received) == 1
    outbound.retry(row.pk)
    assert outbound.send_due()["sent"] == 1  # an agent decided to resend


@pytest.mark.django_db
def test_smtp_urls_are_understood():
    url = outbound.SmtpUrl("smtp+starttls://us%40er:p%3Ass@mail.example:2525")
    assert (url.scheme, url.host, url.port, url.user, url.password) == (
        "smtp+starttls",
        "mail.example",
        2525,
        "us@er",
        "p:ss",
    )
    assert outbound.SmtpUrl("smtps://mail.example").port == 465
    with pytest.raises(ValueError, match="unknown scheme"):
        outbound.SmtpUrl("http://mail.example")
