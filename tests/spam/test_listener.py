"""The LMTP listener with no MTA in front: a real client delivers (``smtplib``), the
real spamd judges, and mail like what was learned as spam opens in the junk queue,
unanswered, while the sender's own ``X-Spam-Flag: NO`` counts for nothing.

The listener's threads use their own database connections, so these tests commit.
"""

from __future__ import annotations

import smtplib

import pytest

from helpline.mail.transports.listener import make_controller
from helpline.models import InboundStatus, OutboxMessage, Ticket
from helpline.spam import spamd
from tests.smtp_sink import free_port
from tests.spam.desk import ADDRESS, make_desk
from tests.spam.spamd import message, words
from tests.transports import crlf, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Words no other test's campaign has (test_pipeline.py offers pills): the session's
# spamd learns from every test of its worker, and a pitch this test teaches as spam
# must not make another test's first message spam already (seen on CI).
PITCH = "Replica Rolex watches at 90% off, limited time offer, click here to order! "


@pytest.fixture
def listener(filter_on, settings):
    settings.HELPLINE_SPAM_CHECK = ["lmtp"]
    controller = make_controller("127.0.0.1", free_port())
    controller.start()
    yield controller
    if controller.loop.is_running():  # not stopped by the test
        controller.stop()


def deliver_lmtp(controller, raw: bytes):
    with smtplib.LMTP(controller.hostname, controller.port, timeout=30) as client:
        assert client.ehlo()[0] == 250
        assert client.mail("sender@example.net")[0] == 250
        assert client.rcpt(ADDRESS)[0] == 250
        code, reply = client.data(crlf(raw))
    assert code == 250, reply
    return wait_for_status(int(reply.rsplit(b" ", 1)[1]), timeout=60)


def test_spam_delivered_over_lmtp_opens_in_junk_unanswered(listener):
    desk = make_desk()
    campaign = PITCH + words()
    spamd.learn(message(subject="Pills", body=campaign), spam=True)
    spamd.learn(message(subject="Photo permission", body=words()), spam=False)

    delivered = deliver_lmtp(
        listener,
        message(
            subject="Pills",
            body=campaign,
            top=(("X-Spam-Flag", "NO"), ("X-Spam-Score", "-5")),
        ),
    )
    listener.stop()  # waits until the message's after-commit hooks have run

    assert delivered.status == InboundStatus.PROCESSED, delivered.error
    assert delivered.decisions["spam"]["by"] == "spamd"
    assert delivered.spam_score is not None and delivered.spam_score >= 5
    assert "BAYES_99" in delivered.spam_symbols
    assert Ticket.objects.get(pk=delivered.ticket_id).queue == desk.junk
    assert not OutboxMessage.objects.exists()
