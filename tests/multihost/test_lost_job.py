"""A message whose worker died while processing it (its host lost power, say).

The job was already taken out of the queue, and the transaction that would have made
the ticket died with the database connection: the message is left ``received`` with
no job anywhere.  The periodic ``sweep_inbound`` of any live host finds it once it is
five minutes old (docs/multihost.md, "When a host dies").  Runs on SQLite and
PostgreSQL: nothing here needs a second host.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpline import jobs
from helpline.mail import hooks
from helpline.mail.intake import receive
from helpline.models import InboundMessage, InboundStatus, Ticket
from tests.support import make_group, make_queue


def _mail(tag: str) -> bytes:
    return (
        f"From: Reader <{tag}@example.net>\r\n"
        "To: info@helpline.localhost\r\n"
        f"Subject: Question {tag}\r\n"
        f"Message-ID: <{tag}@example.net>\r\n"
        "\r\n"
        "Hello.\r\n"
    ).encode()


@pytest.mark.django_db
def test_a_message_whose_job_died_with_its_worker_is_swept_up(monkeypatch):
    make_queue("Info", group=make_group("Support"), email="info@helpline.localhost")
    monkeypatch.setattr(hooks, "on_stored", [])  # the job is gone with the worker
    lost, _ = receive(_mail("lost"), transport="lmtp")
    recent, _ = receive(_mail("recent"), transport="lmtp")
    InboundMessage.objects.filter(pk=lost.pk).update(
        received=timezone.now() - timedelta(minutes=6)
    )

    assert jobs.sweep_inbound.call_local() == 1

    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.status == InboundStatus.PROCESSED
    assert Ticket.objects.filter(pk=lost.ticket_id, title="Question lost").exists()
    # One received a minute ago may still have its job waiting: left to that job.
    assert recent.status == InboundStatus.RECEIVED
