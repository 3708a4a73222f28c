"""Helpline behind a real Postfix (tests/transports/postfix.py), as in production.

Mail submitted to Postfix's smtpd is checked against the table ``helpline mail
addresses --postfix-map`` prints, delivered by LMTP to Helpline's listener and
becomes a ticket; while the listener is down Postfix keeps it and delivers it once
the listener is back; Helpline's replies leave through Postfix, which relays them.
"""

from __future__ import annotations

import smtplib

import pytest

from helpline.actions import admin
from helpline.blobstore import read_blob
from helpline.mail import outbound
from helpline.mail.transports.listener import make_controller
from helpline.models import InboundMessage, InboundStatus, Permission, Ticket
from helpline.responses import replies
from tests.cli import run
from tests.mail.messages import mail
from tests.support import make_agent
from tests.transports import wait_for_status
from tests.transports.postfix import Postfix
from tests.transports.rawsmtp import Session, crlf, long_line_mail, stuffed

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

INFO = "info-en@helpline.localhost"
PRESS = "press@helpline.localhost"


@pytest.fixture
def mta(postfix: Postfix, org) -> Postfix:
    """Postfix with the tables Helpline prints: who may receive mail, and where it
    goes (``lmtp:inet:`` the listener's address)."""
    postfix.write_tables(
        run("mail", "addresses", "--postfix-map"),
        run("mail", "addresses", "--postfix-map", "--nexthop", postfix.nexthop),
    )
    postfix.reload()
    return postfix


@pytest.fixture
def helpline_listener(mta: Postfix):
    """Start Helpline's LMTP listener where Postfix delivers (not started by itself,
    so a test can keep it down)."""
    started = []

    def start() -> None:
        controller = make_controller(mta.host, mta.lmtp_port)
        controller.start()
        started.append(controller)

    yield start
    for controller in started:
        controller.stop()


def submit(postfix: Postfix, raw: bytes, recipients: list[str]) -> None:
    with smtplib.SMTP(postfix.host, postfix.smtpd_port, timeout=30) as client:
        assert client.sendmail("jane@example.net", recipients, raw) == {}


def stored_message(postfix: Postfix) -> InboundMessage:
    message = postfix.wait_for(
        "delivery to Helpline", lambda: InboundMessage.objects.first()
    )
    return wait_for_status(message.pk)


def test_mail_submitted_to_postfix_becomes_a_ticket(mta, helpline_listener, org):
    helpline_listener()
    submit(mta, mail(to=INFO, subject="Through Postfix"), [INFO])
    message = stored_message(mta)
    assert message.status == InboundStatus.PROCESSED
    assert message.transport == "lmtp"
    assert message.envelope_recipients == [INFO]
    assert message.ticket.queue == org.info
    assert message.ticket.title == "Through Postfix"
    assert b"by mta.helpline.test (Postfix)" in read_blob(message.raw)
    mta.wait_for("an empty queue", lambda: mta.queue() == [])


def test_postfix_keeps_the_mail_while_the_listener_is_down_and_delivers_it_after(
    mta, helpline_listener, org
):
    submit(mta, mail(to=INFO, subject="Sent while Helpline was down"), [INFO])
    deferred = mta.wait_for(
        "a deferral",
        lambda: [
            m
            for m in mta.queue()
            if any(
                "Connection refused" in r.get("delay_reason", "")
                for r in m["recipients"]
            )
        ],
    )
    assert deferred[0]["recipients"][0]["address"] == INFO
    assert not InboundMessage.objects.exists()

    helpline_listener()
    mta.flush()
    message = stored_message(mta)
    assert message.ticket.title == "Sent while Helpline was down"
    mta.wait_for("an empty queue", lambda: mta.queue() == [])
    assert InboundMessage.objects.count() == Ticket.objects.count() == 1


def test_a_reply_leaves_through_postfix_as_the_relay(mta, helpline_listener, org):
    helpline_listener()
    submit(mta, mail(to=INFO, subject="Please answer"), [INFO])
    ticket = stored_message(mta).ticket
    agent = make_agent("alice")
    admin.grant(org.info.group, [Permission.RW], agent=agent)

    replies.reply(agent, ticket.pk, text="Here is the answer.")
    outbound.send_due()

    received = mta.wait_for("relay to the sink", lambda: mta.sink.received)
    assert received[0].rcpt_tos == ["jane@example.net"]
    message = received[0].message
    assert message["Subject"] == f"Re: [Ticket#{ticket.number}] Please answer"
    assert "Here is the answer." in message.get_content()
    assert "by mta.helpline.test (Postfix)" in message["Received"]


def test_postfix_refuses_an_unknown_recipient_at_rcpt_with_the_generated_table(
    mta, org
):
    org.press.addresses.update(valid=False)
    mta.write_tables(run("mail", "addresses", "--postfix-map"), "")
    mta.reload()
    with smtplib.SMTP(mta.host, mta.smtpd_port, timeout=30) as client:
        client.ehlo()
        assert client.mail("jane@example.net")[0] == 250
        code, reply = client.rcpt("nobody@helpline.localhost")
        assert (code, reply[:5]) == (550, b"5.1.1")
        assert client.rcpt(PRESS)[0] == 550  # no longer valid
        assert client.rcpt(INFO)[0] == 250


def test_a_megabyte_bare_lf_message_with_a_long_line_arrives_whole(
    mta, helpline_listener, org
):
    helpline_listener()
    raw = long_line_mail(300 * 1024, subject="bare-lf")
    raw = raw.replace(b"\n\n", b"\n\n" + b"A line of text.\n" * 50_000, 1)
    assert len(raw) > 1024 * 1024
    session = Session((mta.host, mta.smtpd_port))
    assert session.command("EHLO client.example") == 250
    assert session.command("MAIL FROM:<jane@example.net>") == 250
    assert session.command(f"RCPT TO:<{INFO}>") == 250
    assert session.command("DATA") == 354
    assert session.send(stuffed(raw, b"\n") + b".\n", 1) == [250]
    session.close()

    message = stored_message(mta)
    assert message.ticket.queue == org.info
    stored = read_blob(message.raw)
    # Postfix adds headers (Received:, and Date: where there is none); the body
    # arrives with CRLF line ends and its lines unbroken.
    head, body = stored.split(b"\r\n\r\n", 1)
    sent_head, sent_body = crlf(raw).split(b"\r\n\r\n", 1)
    assert body == sent_body
    assert set(sent_head.split(b"\r\n")) <= set(head.split(b"\r\n"))
    assert b"x" * 300 * 1024 + b"\r\n" in body
