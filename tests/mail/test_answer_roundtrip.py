"""A whole conversation by mail, through the real peers at both ends.

The customer writes through the LMTP listener (driven by ``smtplib`` as an MTA would),
Helpline's auto-response and the agent's templated reply go out through the outbox to a
real SMTP server (aiosmtpd), and the customer's answer is built from the bytes that
server received, the way a mail client builds a reply, and delivered through the
listener again.

The listener's threads use their own database connections, and the outbox is kicked
when a transaction commits, so these tests commit (``transaction=True``).
"""

from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from helpline.actions import admin
from helpline.mail.transports.listener import ListenerController, make_controller
from helpline.models import (
    AutoResponse,
    AutoResponseType,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    Permission,
    Queue,
    Salutation,
    SenderType,
    Signature,
    Template,
    TemplateType,
    Ticket,
)
from helpline.responses import replies
from tests.mail.messages import mail
from tests.smtp_sink import Received, SmtpSink, free_port
from tests.support import make_agent, make_group, make_queue
from tests.transports import crlf, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

QUEUE_ADDRESS = "info-en@helpline.localhost"
CUSTOMER = "jane@example.net"
CUSTOMER_FROM = f"Jane Doe <{CUSTOMER}>"
MAIL_DOMAIN = "mail.helpline.test"
TITLE = "Wrong birth date in the article about my grandfather"


@dataclass
class Desk:
    queue: Queue
    agent: object


@pytest.fixture
def desk(db, settings) -> Desk:
    """A queue with an address, salutation, signature, an answer template and an
    agent who may answer in it; the subject hook and mail domain set explicitly, so
    the expected headers below follow from this configuration."""
    settings.HELPLINE_TICKET_HOOK = "Ticket#"
    settings.HELPLINE_TICKET_HOOK_POSITION = "left"
    settings.HELPLINE_MAIL_DOMAIN = MAIL_DOMAIN
    group = make_group("info")
    queue = make_queue(
        "info-en", group=group, email=QUEUE_ADDRESS, display_name="Wikipedia Info"
    )
    make_queue("Raw", group=group)  # where misrouted mail would go
    queue.salutation = Salutation.objects.create(
        name="dear", text="Dear {{ customer.name }},"
    )
    queue.signature = Signature.objects.create(
        name="vrt", text="-- \n{{ agent.name }}\nWikipedia Info team"
    )
    queue.save(update_fields=["salutation", "signature"])
    template = Template.objects.create(
        name="date-fixed",
        type=TemplateType.ANSWER,
        text="Thank you for your report about {{ ticket.title }}; "
        "the date has been corrected.",
    )
    template.queues.add(queue)
    agent = make_agent("alice", first_name="Alice", last_name="Smith")
    admin.grant(group, [Permission.RW], agent=agent)
    return Desk(queue=queue, agent=agent)


def auto_response(queue: Queue, type_: str, *, subject: str, text: str) -> None:
    response = AutoResponse.objects.create(
        name=type_, type=type_, subject=subject, text=text
    )
    response.queues.add(queue)


class Listener:
    """The LMTP listener on a free port, stopped once (stopping waits until every
    stored message has been processed, its after-commit hooks included)."""

    def __init__(self) -> None:
        self.controller: ListenerController | None = make_controller(
            "127.0.0.1", free_port()
        )
        self.controller.start()
        self.where = (self.controller.hostname, self.controller.port)

    def deliver(self, raw: bytes, recipient: str = QUEUE_ADDRESS) -> InboundMessage:
        """Deliver as an MTA does; the message once processed."""
        with smtplib.LMTP(*self.where, timeout=10) as client:
            assert client.ehlo()[0] == 250  # LHLO
            assert client.mail(CUSTOMER)[0] == 250
            assert client.rcpt(recipient)[0] == 250
            code, reply = client.data(raw)
        assert code == 250, reply
        assert reply.startswith(b"2.0.0 Stored as inbound message"), reply
        pk = int(reply.rsplit(b" ", 1)[1])
        return wait_for_status(pk)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def listener(desk):
    running = Listener()
    yield running
    running.stop()


def wait_for_mail(sink: SmtpSink, count: int, timeout: float = 15.0) -> list[Received]:
    """What the sink holds once it has ``count`` messages (sent from other threads)."""
    deadline = time.monotonic() + timeout
    while len(sink.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(sink.received)


def mail_to(sink: SmtpSink, address: str) -> list[Received]:
    return [r for r in sink.received if r.rcpt_tos == [address]]


def assert_owner_told_of_follow_up(sink: SmtpSink, ticket: Ticket) -> None:
    """Everything else the SMTP server got: the agent's reply locked the ticket to
    her, so she alone is notified of the follow-up (BEHAVIOUR.md s. 10)."""
    others = [r for r in sink.received if r.rcpt_tos != [CUSTOMER]]
    assert [r.rcpt_tos for r in others] == [["alice@example.org"]]
    msg = others[0].message
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == f"[Ticket#{ticket.number}] Follow-up: {TITLE}"


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def answer_as_a_mail_client(
    received: EmailMessage, *, body: str, keep_threading: bool = True
) -> tuple[bytes, str]:
    """The customer's answer to ``received``, built from its headers as a mail client
    builds it; returns the bytes (with CRLF, as on the wire) and the new Message-ID."""
    message_id = make_msgid("answer", "example.net")
    quoted = "\n".join(f"> {line}" for line in received.get_content().splitlines())
    in_reply_to = references = ""
    if keep_threading:
        in_reply_to = str(received["Message-ID"])
        references = f"{received['References']} {received['Message-ID']}"
    raw = mail(
        subject=f"Re: {received['Subject']}",
        body=f"{body}\n\n{quoted}\n",
        sender=CUSTOMER_FROM,
        to=str(received["From"]),
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
    )
    return crlf(raw), message_id


def start_conversation(
    listener: Listener, smtp_sink: SmtpSink, desk: Desk
) -> tuple[Ticket, str, EmailMessage]:
    """The customer writes, is auto-answered, and the agent replies with the template.

    Returns the ticket, the customer's first Message-ID (with <>) and the agent's
    reply as it arrived at the SMTP server, each step checked on the way.
    """
    first_id = make_msgid("first", "example.net")
    inbound = listener.deliver(
        crlf(mail(subject=TITLE, sender=CUSTOMER_FROM, message_id=first_id))
    )
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.reason == "new_ticket"
    ticket = inbound.ticket
    assert ticket is not None
    assert ticket.queue == desk.queue
    assert ticket.customer is not None
    assert ticket.customer.email == CUSTOMER
    number = ticket.number

    # The auto-response goes out after the message is committed, from the listener's
    # processing thread.
    [auto] = wait_for_mail(smtp_sink, 1)
    assert auto.rcpt_tos == [CUSTOMER]
    assert auto.mail_from == QUEUE_ADDRESS
    msg = auto.message
    assert msg["To"] == f"Jane Doe <{CUSTOMER}>"  # the customer's own name
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Subject"] == f"[Ticket#{number}] Your request has been received"
    assert msg["In-Reply-To"] == first_id
    assert f"its number is {number}." in msg.get_content()

    # The agent answers with the template, through the domain action; the outbox is
    # kicked when the reply commits.
    article = replies.reply(desk.agent, ticket.pk, template="date-fixed")
    sent = wait_for_mail(smtp_sink, 2)
    assert len(sent) == 2
    reply = sent[1]
    assert reply.rcpt_tos == [CUSTOMER]
    assert reply.mail_from == QUEUE_ADDRESS
    msg = reply.message
    assert msg["From"].addresses[0].addr_spec == QUEUE_ADDRESS
    assert msg["From"].addresses[0].display_name == "Alice Smith via Wikipedia Info"
    assert [a.addr_spec for a in msg["To"].addresses] == [CUSTOMER]
    # compose_reply answers with "Re: " and build_subject's left-hand hook.
    assert msg["Subject"] == f"Re: [Ticket#{number}] {TITLE}"
    assert msg["In-Reply-To"] == first_id
    assert first_id in msg["References"].split()
    assert msg["Message-ID"] == f"<{article.message_id}>"
    assert msg["Message-ID"].endswith(f"@{MAIL_DOMAIN}>")
    assert "Auto-Submitted" not in msg
    # The bytes are sent with CRLF line ends (SMTP policy); compare lines.
    body = msg.get_content().replace("\r\n", "\n")
    salutation = body.index("Dear Jane Doe,")
    text = body.index(
        f"Thank you for your report about {TITLE}; the date has been corrected."
    )
    signature = body.index("-- \nAlice Smith\nWikipedia Info team")
    assert salutation < text < signature
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 2
    return ticket, first_id, msg


def test_the_customers_answer_to_a_templated_reply_lands_on_the_same_ticket(
    desk, listener, smtp_sink
):
    """New mail by LMTP gets the auto-response; the agent's templated reply reaches
    the customer threaded; the customer's client answers it (Re:, In-Reply-To,
    References) through LMTP, and the answer is a follow-up on the same ticket,
    answered by the follow-up auto-response, never by a second new-ticket one."""
    auto_response(
        desk.queue,
        AutoResponseType.REPLY,
        subject="Your request has been received",
        text="We have your message; its number is {{ ticket.number }}.",
    )
    auto_response(
        desk.queue,
        AutoResponseType.FOLLOW_UP,
        subject="We have your additional information",
        text="Your message was added to request {{ ticket.number }}.",
    )
    ticket, first_id, reply = start_conversation(listener, smtp_sink, desk)

    raw, answer_id = answer_as_a_mail_client(
        reply, body="Thank you, it looks right now."
    )
    parsed_answer = parse(raw)
    assert parsed_answer["Subject"] == f"Re: Re: [Ticket#{ticket.number}] {TITLE}"
    assert parsed_answer["In-Reply-To"] == reply["Message-ID"]
    assert parsed_answer["References"].split() == [first_id, reply["Message-ID"]]

    inbound = listener.deliver(raw)
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.reason == "follow_up"
    assert inbound.decisions["follow_up"] == "references"
    assert inbound.ticket == ticket
    assert Ticket.objects.count() == 1
    answer = inbound.article
    assert answer.ticket == ticket
    assert answer.incoming
    assert answer.sender_type == SenderType.CUSTOMER
    assert answer.message_id == answer_id[1:-1]
    assert "Thank you, it looks right now." in answer.body_text

    wait_for_mail(smtp_sink, 4)
    listener.stop()  # waits for processing to finish: nothing more can be sent
    to_customer = mail_to(smtp_sink, CUSTOMER)
    assert len(to_customer) == 3  # auto-response, agent's reply, follow-up response
    follow_up = to_customer[2]
    msg = follow_up.message
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Subject"] == (
        f"[Ticket#{ticket.number}] We have your additional information"
    )
    assert msg["In-Reply-To"] == answer_id
    assert_owner_told_of_follow_up(smtp_sink, ticket)
    assert [
        (a.sender_type, a.incoming) for a in ticket.articles.order_by("created", "id")
    ] == [
        (SenderType.CUSTOMER, True),
        (SenderType.SYSTEM, False),  # the new-ticket auto-response
        (SenderType.AGENT, False),
        (SenderType.CUSTOMER, True),
        (SenderType.SYSTEM, False),  # the follow-up auto-response
    ]


def test_an_answer_without_threading_headers_lands_on_the_ticket_by_its_subject(
    desk, listener, smtp_sink
):
    """A client that drops In-Reply-To and References still keeps the subject: the
    ticket number in it makes the answer a follow-up on the same ticket.  The queue
    has no follow-up auto-response, so nothing more is sent."""
    auto_response(
        desk.queue,
        AutoResponseType.REPLY,
        subject="Your request has been received",
        text="We have your message; its number is {{ ticket.number }}.",
    )
    ticket, _, reply = start_conversation(listener, smtp_sink, desk)

    raw, answer_id = answer_as_a_mail_client(
        reply, body="One more thing: the place is wrong too.", keep_threading=False
    )
    parsed_answer = parse(raw)
    assert "In-Reply-To" not in parsed_answer
    assert "References" not in parsed_answer
    assert f"[Ticket#{ticket.number}]" in parsed_answer["Subject"]

    inbound = listener.deliver(raw)
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.reason == "follow_up"
    assert inbound.decisions["follow_up"] == "subject"
    assert inbound.ticket == ticket
    assert Ticket.objects.count() == 1
    answer = inbound.article
    assert answer.ticket == ticket
    assert answer.message_id == answer_id[1:-1]
    assert "the place is wrong too" in answer.body_text

    listener.stop()  # waits for processing to finish: nothing more can be sent
    to_customer = mail_to(smtp_sink, CUSTOMER)
    assert len(to_customer) == 2  # the auto-response and the agent's reply
    assert_owner_told_of_follow_up(smtp_sink, ticket)
    assert ticket.articles.count() == 4
    assert ticket.articles.filter(sender_type=SenderType.SYSTEM).count() == 1
