"""Outsiders cannot write into a stranger's ticket by mail (issue 13, point 1).

A ticket number alone (in the subject) makes a mail a follow-up only when every address
it comes from (each From, the Sender) and would be answered at (Reply-To) has taken
part in the ticket, compared as exact canonical addresses; our own system addresses are
never participants, and mail claiming to come from one of them is never a customer's
follow-up.  Everyone else opens a new ticket linked to the one named, and the
auto-response they get tells nothing of the other ticket.
"""

from __future__ import annotations

import base64

import pytest

from helpline.actions import admin
from helpline.actions.customers import get_or_create_customer
from helpline.mail.intake import receive_and_dispatch
from helpline.models import (
    AutoResponse,
    AutoResponseType,
    Customer,
    InboundMessage,
    Permission,
    SenderType,
    StateType,
    Ticket,
)
from helpline.responses import replies
from tests.mail.messages import mail
from tests.support import make_agent, make_group, make_queue

QUEUE = "info-en@helpline.localhost"
VICTIM = "victim@example.org"
VICTIM_NAME = "Valerie Victim"
TITLE = "Complaint about the article on my late husband"


@pytest.fixture
def desk(db, settings):
    settings.HELPLINE_TICKET_HOOK = "Ticket#"
    group = make_group("info")
    queue = make_queue("info-en", group=group, email=QUEUE)
    make_queue("Raw", group=group)
    agent = make_agent("alice")
    admin.grant(group, [Permission.RW], agent=agent)
    return {"queue": queue, "agent": agent}


def deliver(raw: bytes) -> InboundMessage:
    return receive_and_dispatch(raw, transport="test")


@pytest.fixture
def victim_ticket(desk) -> Ticket:
    """The victim's ticket, answered once by an agent (so the queue's own address is
    in the From of one article and in the To of the other)."""
    ticket = deliver(
        mail(sender=f"{VICTIM_NAME} <{VICTIM}>", subject=TITLE, to=QUEUE)
    ).ticket
    draft = replies.compose_reply(
        desk["agent"], ticket, replies.last_customer_article(ticket), text="We look."
    )
    replies.do_send_email(desk["agent"], ticket, draft)
    return ticket


PLACEHOLDER = "placeholder@placeholder.invalid"


def stranger(ticket: Ticket, *, sender: str, **kwargs) -> InboundMessage:
    """A mail naming ``ticket`` in its subject, with ``sender`` verbatim as the From
    header (not re-encoded by the test's mail library)."""
    kwargs.setdefault("subject", f"Re: [Ticket#{ticket.number}] {TITLE}")
    kwargs.setdefault("body", "Please send me everything you have.")
    raw = mail(sender=PLACEHOLDER, **kwargs)
    assert raw.count(PLACEHOLDER.encode()) == 1
    return deliver(raw.replace(PLACEHOLDER.encode(), sender.encode()))


def assert_kept_out(ticket: Ticket, msg: InboundMessage) -> None:
    """The mail opened its own ticket, linked to the one it named, which is unchanged."""
    assert msg.decisions["follow_up"] == "subject (sender not a participant)"
    assert msg.ticket is not None and msg.ticket.pk != ticket.pk
    assert msg.decisions["linked_to"] == ticket.number
    assert ticket.articles.count() == 2
    assert not ticket.articles.filter(body_text__contains="everything").exists()


def encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


STRANGE_SENDERS = {
    "substring of the victim's address": "m@example.org",
    "the local part alone": "victim@evil.example",
    "superstring: longer local part": "xvictim@example.org",
    "superstring: longer domain": "victim@example.org.evil.example",
    "superstring: domain prefix": "victim@example.orgx",
    "the victim's address as display name": f'"{VICTIM}" <m@evil.example>',
    "the victim's address as unquoted display name": f"{VICTIM} <m@evil.example>",
    "the victim's address as an encoded display name": (
        f"{encoded(VICTIM)} <m@evil.example>"
    ),
    "the victim's address with a comma, encoded": (
        f"{encoded(VICTIM + ', x')} <m@evil.example>"
    ),
    "the victim's address in a quoted local part": f'"{VICTIM}"@evil.example',
    "the victim's address with a second @": f"{VICTIM}@evil.example",
    "the victim's name as display name": f'"{VICTIM_NAME}" <m@evil.example>',
    "the victim's address in a comment": f"m@evil.example ({VICTIM})",
    "the victim's address in a leading comment": f"({VICTIM}) m@evil.example",
    "the queue's own address": QUEUE,
    "the queue's own address, other case": "Info-EN@Helpline.LOCALHOST",
    "the queue's own address, quoted local part": '"info-en"@helpline.localhost',
    "the queue's own address, with a name": f'"Info team" <{QUEUE}>',
}


@pytest.mark.django_db
@pytest.mark.parametrize("sender", STRANGE_SENDERS.values(), ids=STRANGE_SENDERS)
def test_a_sender_who_is_not_a_participant_cannot_write_into_the_ticket(
    victim_ticket, sender
):
    msg = stranger(victim_ticket, sender=sender)
    assert_kept_out(victim_ticket, msg)


@pytest.mark.django_db
def test_a_second_from_address_that_is_a_stranger_keeps_the_mail_out(victim_ticket):
    msg = stranger(victim_ticket, sender=f"{VICTIM}, m@evil.example")
    assert_kept_out(victim_ticket, msg)


@pytest.mark.django_db
def test_a_second_from_header_that_is_a_stranger_keeps_the_mail_out(victim_ticket):
    raw = mail(
        sender="m@evil.example",
        subject=f"[Ticket#{victim_ticket.number}] hi",
        body="Please send me everything you have.",
    )
    raw = f"From: {VICTIM}\n".encode() + raw  # the victim first, the stranger next
    assert_kept_out(victim_ticket, deliver(raw))


@pytest.mark.django_db
def test_the_victims_address_in_sender_does_not_vouch_for_a_stranger(victim_ticket):
    msg = stranger(victim_ticket, sender="m@evil.example", headers={"Sender": VICTIM})
    assert_kept_out(victim_ticket, msg)


@pytest.mark.django_db
def test_a_strangers_sender_keeps_out_mail_from_the_victims_address(victim_ticket):
    msg = stranger(victim_ticket, sender=VICTIM, headers={"Sender": "m@evil.example"})
    assert_kept_out(victim_ticket, msg)


@pytest.mark.django_db
def test_a_strangers_reply_to_keeps_out_mail_from_the_victims_address(victim_ticket):
    """Else the next agent reply would go to the stranger's Reply-To."""
    msg = stranger(victim_ticket, sender=VICTIM, reply_to="m@evil.example")
    assert_kept_out(victim_ticket, msg)
    to = replies.compose_reply(
        None, victim_ticket, replies.last_customer_article(victim_ticket)
    ).to
    assert to == [VICTIM]


PARTICIPANT_SPELLINGS = {
    "as stored": VICTIM,
    "other case": "Victim@EXAMPLE.ORG",
    "quoted local part": '"victim"@example.org',
    "with a display name": f"Someone Else <{VICTIM}>",
    "with a comment": f"{VICTIM} (at home)",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sender", PARTICIPANT_SPELLINGS.values(), ids=PARTICIPANT_SPELLINGS
)
def test_the_participant_in_any_spelling_of_her_address_follows_up(
    victim_ticket, sender
):
    msg = stranger(victim_ticket, sender=sender)
    assert msg.decisions["follow_up"] == "subject"
    assert msg.ticket == victim_ticket


@pytest.mark.django_db
def test_an_international_domain_matches_in_unicode_and_ascii_form(desk):
    """The first mail names the domain in Unicode (an 8-bit header, as SMTPUTF8
    mail does), the answer in its ASCII form, in capitals."""
    raw = mail(sender="joerg@placeholder.example")
    raw = raw.replace(
        b"joerg@placeholder.example", "Jörg <joerg@bücher.example>".encode()
    )
    first = deliver(raw).ticket
    assert first.customer.email == "joerg@xn--bcher-kva.example"
    msg = deliver(
        mail(
            sender="Joerg@XN--BCHER-KVA.example",
            subject=f"[Ticket#{first.number}] more",
        )
    )
    assert msg.ticket == first
    assert msg.decisions["follow_up"] == "subject"


@pytest.mark.django_db
def test_a_recipient_of_our_reply_is_a_participant(desk, victim_ticket):
    """Someone the agent wrote to (Cc) may answer by number: participants are exact
    addresses, not only the customer."""
    draft = replies.compose_reply(
        desk["agent"], victim_ticket, None, text="Copying the lawyer."
    )
    draft.cc = ["lawyer@law.example"]
    replies.do_send_email(desk["agent"], victim_ticket, draft)
    msg = stranger(victim_ticket, sender="Lawyer <LAWYER@law.example>")
    assert msg.ticket == victim_ticket


@pytest.mark.django_db
def test_mail_from_our_own_address_threaded_by_message_id_is_no_customer_follow_up(
    victim_ticket,
):
    """A loop or a forgery: kept on the ticket as a system article, hidden from the
    customer, changing no state and answered by nothing."""
    victim_ticket.refresh_from_db()
    state = victim_ticket.state_id
    outgoing = victim_ticket.articles.get(incoming=False)
    msg = deliver(
        mail(
            sender='"Info" <Info-EN@helpline.localhost>',
            subject="Re: hello",
            in_reply_to=f"<{outgoing.message_id}>",
        )
    )
    assert msg.ticket == victim_ticket
    article = msg.article
    assert article.sender_type == SenderType.SYSTEM
    assert not article.visible_to_customer
    assert msg.decisions["auto_response"] == "none"
    victim_ticket.refresh_from_db()
    assert victim_ticket.state_id == state


@pytest.mark.django_db
def test_new_mail_from_our_own_address_has_no_customer_and_no_auto_response(desk):
    msg = deliver(mail(sender='"info-en"@helpline.localhost', subject="Spoofed"))
    assert msg.ticket.customer is None
    assert msg.article.sender_type == SenderType.SYSTEM
    assert msg.decisions["auto_response"] == "none"


@pytest.mark.django_db
def test_a_display_name_cannot_add_a_recipient_to_the_reply(desk):
    """The stored From keeps the display name quoted, so a name holding an address
    never becomes a recipient of the agent's reply."""
    msg = deliver(
        mail(sender=f'"a\\" <{VICTIM}>, \\"b" <m@evil.example>', subject="Hi")
    )
    ticket = msg.ticket
    assert ticket.customer.email == "m@evil.example"
    draft = replies.compose_reply(
        desk["agent"], ticket, replies.last_customer_article(ticket), reply_all=True
    )
    assert draft.to == ["m@evil.example"]
    assert VICTIM not in draft.cc


@pytest.mark.django_db
def test_the_strangers_auto_response_tells_nothing_of_the_other_ticket(
    desk, victim_ticket, smtp_sink, django_capture_on_commit_callbacks
):
    for kind in (AutoResponseType.REPLY, AutoResponseType.FOLLOW_UP):
        response = AutoResponse.objects.create(
            name=kind,
            type=kind,
            subject="About {{ ticket.title }}",
            text="Dear {{ customer.name }}, we got your mail about {{ ticket.title }}"
            " (customer {{ customer.email }}).",
        )
        response.queues.add(desk["queue"])
    from tests.mail.test_answer_roundtrip import wait_for_mail

    with django_capture_on_commit_callbacks(execute=True):
        msg = stranger(
            victim_ticket,
            sender="Mallory <m@example.org>",
            subject=f"[Ticket#{victim_ticket.number}] hi",
        )
    assert msg.ticket != victim_ticket
    received = [r for r in wait_for_mail(smtp_sink, 1) if "m@example.org" in r.rcpt_tos]
    assert received, "the stranger gets the new ticket's auto-response"
    text = received[0].message.as_string()
    assert "late husband" not in text
    assert VICTIM_NAME not in text
    assert VICTIM not in text
    assert victim_ticket.number not in text


@pytest.mark.django_db
def test_the_participant_check_costs_the_same_queries_for_long_tickets(desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(articles: int) -> int:
        ticket = deliver(mail(sender=VICTIM, subject="Long")).ticket
        for n in range(articles):
            deliver(mail(sender=f"p{n}@example.org", cc=VICTIM,
                         subject=f"[Ticket#{ticket.number}] x", to=QUEUE,
                         references=f"<{ticket.articles.first().message_id}>"))  # fmt: skip
        with CaptureQueriesContext(connection) as ctx:
            msg = stranger(ticket, sender="m@example.org")
        assert msg.ticket != ticket
        return len(ctx.captured_queries)

    count(1)  # the first message in a process reads the configuration
    assert count(2) == count(25)


@pytest.mark.django_db
def test_every_spelling_of_an_address_is_one_customer(db):
    first = get_or_create_customer("Jane@Example.NET", "Jane")
    for spelling in ('"jane"@example.net', " jane@EXAMPLE.net ", "<jane@example.net>"):
        assert get_or_create_customer(spelling) == first
    assert Customer.objects.count() == 1
    assert first.email == "jane@example.net"


@pytest.mark.django_db
def test_a_ticket_stays_new_when_its_customer_follows_up(victim_ticket):
    """The fix keeps ordinary follow-ups working (the state rule of BEHAVIOUR.md)."""
    msg = stranger(victim_ticket, sender=VICTIM)
    assert msg.ticket == victim_ticket
    assert msg.article.sender_type == SenderType.CUSTOMER
    assert victim_ticket.state_type in (StateType.NEW, StateType.OPEN)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "address",
    [QUEUE, "Info-EN@Helpline.localhost", '"info-en"@helpline.localhost'],
)
def test_no_automatic_answer_goes_to_any_spelling_of_our_own_address(desk, address):
    from helpline.responses.auto import may_answer

    allowed, why = may_answer(address)
    assert not allowed
    assert "our own addresses" in why


def test_a_filter_on_an_address_matches_its_quoted_and_international_spellings():
    from helpline.mail.filters import apply_filters
    from helpline.mail.parse import parse_message
    from helpline.models import PostmasterFilter

    flt = PostmasterFilter(
        name="vip",
        matches=[{"header": "EMAILADDRESS:Boss@Bücher.example", "regex": ""}],
        sets={"priority": 1},
    )

    def fired(sender: str) -> list[str]:
        raw = mail(sender=PLACEHOLDER).replace(PLACEHOLDER.encode(), sender.encode())
        parsed = parse_message(raw)
        return apply_filters(parsed, trust_headers=False, filters=[flt]).fired

    assert fired('"boss"@xn--bcher-kva.example') == ["filter vip"]
    assert fired("x@evil.example, boss@xn--bcher-kva.example") == ["filter vip"]
    assert fired("xboss@xn--bcher-kva.example") == []


def test_mail_from_any_spelling_of_our_own_address_is_a_loop():
    from helpline.mail.automatic import classify

    raw = mail(sender=PLACEHOLDER).replace(
        PLACEHOLDER.encode(), b'"Info-EN"@Helpline.localhost'
    )
    found = classify(raw, own_addresses=[QUEUE])
    assert found.loop
    assert "sent from our own address" in found.reasons


@pytest.mark.django_db
def test_mail_to_any_spelling_of_a_system_address_reaches_its_queue(desk):
    raw = mail(to="placeholder-to@placeholder.invalid").replace(
        b"placeholder-to@placeholder.invalid", b'"Info-EN"@Helpline.LOCALHOST'
    )
    msg = deliver(raw)
    assert msg.ticket.queue == desk["queue"]


@pytest.mark.django_db
def test_a_switched_off_system_address_is_still_ours_never_a_customer(desk):
    """An address that no longer receives mail is still Helpline's: mail claiming to
    come from it is no customer's, and nobody can become a participant through it."""
    old = admin.create_system_address(
        "old-info@helpline.localhost", queue=desk["queue"]
    )
    old.valid = False
    old.save()
    from helpline.mail import snapshot

    snapshot.invalidate()
    msg = deliver(mail(sender="Old-Info@helpline.localhost", subject="Spoofed"))
    assert msg.ticket.customer is None
    assert msg.article.sender_type == SenderType.SYSTEM
    assert msg.decisions["auto_response"] == "none"


def test_our_message_ids_carry_128_random_bits():
    """A Message-ID threads a reply onto its ticket without a participant check, so
    ours cannot be guessed: 32 hex digits from the OS's random source, all distinct."""
    from helpline.mail.compose import new_message_id

    ids = {new_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    for mid in list(ids)[:50]:
        local, _, domain = mid.partition("@")
        assert len(local) >= 32 and int(local, 16) >= 0
        assert domain
