"""Only Message-IDs Helpline generated for its own outgoing mail thread a reply from
anyone; any other Message-ID (an imported Znuny article's, guessable; an inbound
mail's own, known to everyone on the thread) is trusted as a ticket number is."""

from __future__ import annotations

import pytest
from django.utils import timezone

from helpline.actions import admin
from helpline.mail.intake import receive_and_dispatch
from helpline.models import (
    Article,
    ArticleChannel,
    ImportedObject,
    InboundMessage,
    Permission,
    SenderType,
    Ticket,
    TicketLink,
)
from helpline.responses import replies
from tests.mail.messages import mail
from tests.support import make_agent, make_group, make_queue

ZNUNY_ID = "<1700000000.123456@znuny.example.org>"  # as Znuny stores it
OUTSIDER = "Mallory <mallory@evil.example>"


@pytest.fixture
def org(db):
    group = make_group("info")
    make_queue("info-en", group=group, email="info-en@helpline.localhost")
    make_queue("Raw", group=group)
    agent = make_agent("alice")
    admin.grant(group, [Permission.RW], agent=agent)
    return agent


def deliver(raw: bytes) -> InboundMessage:
    return receive_and_dispatch(raw, transport="test")


def _imported_article(ticket: Ticket, *, incoming: bool) -> Article:
    """An article as ``helpline import znuny`` leaves it: Znuny's Message-ID, and its
    mapping row."""
    article = Article.objects.create(
        ticket=ticket,
        channel=ArticleChannel.EMAIL,
        sender_type=SenderType.CUSTOMER if incoming else SenderType.AGENT,
        incoming=incoming,
        visible_to_customer=True,
        created=timezone.now(),
        from_addr="jane@example.net" if incoming else "info-en@helpline.localhost",
        to_addr="info-en@helpline.localhost" if incoming else "jane@example.net",
        subject="Re: Question",
        body_text="An answer from before the migration.",
        message_id=ZNUNY_ID,
    )
    ImportedObject.objects.create(
        source="znuny", kind="article", source_id="4711", target_id=article.pk
    )
    return article


@pytest.mark.django_db
@pytest.mark.parametrize("incoming", [False, True], ids=["agent", "customer"])
def test_an_outsider_naming_an_imported_message_id_gets_a_new_ticket(org, incoming):
    victim = deliver(mail()).ticket
    _imported_article(victim, incoming=incoming)
    msg = deliver(mail(sender=OUTSIDER, subject="Re: hi", in_reply_to=ZNUNY_ID))
    assert msg.ticket != victim
    assert msg.ticket.customer.email == "mallory@evil.example"
    assert msg.decisions["follow_up"] == "references (sender not a participant)"
    assert msg.decisions["linked_to"] == victim.number
    assert victim.articles.count() == 2
    assert TicketLink.objects.count() == 1


@pytest.mark.django_db
def test_the_customer_naming_an_imported_message_id_follows_up(org):
    ticket = deliver(mail()).ticket
    _imported_article(ticket, incoming=False)
    msg = deliver(mail(subject="Re: Question", references=f"<x@y> {ZNUNY_ID}"))
    assert msg.ticket == ticket
    assert msg.decisions["follow_up"] == "references"
    assert ticket.articles.count() == 3


@pytest.mark.django_db
def test_an_imported_message_id_threads_for_anyone_where_the_queue_trusts_numbers(
    org,
):
    ticket = deliver(mail()).ticket
    _imported_article(ticket, incoming=False)
    ticket.queue.trust_subject_number = True
    ticket.queue.save()
    msg = deliver(mail(sender=OUTSIDER, in_reply_to=ZNUNY_ID))
    assert msg.ticket == ticket
    assert msg.decisions["follow_up"] == "references"


@pytest.mark.django_db
def test_an_outsider_naming_an_inbound_mails_own_message_id_gets_a_new_ticket(org):
    first = deliver(mail())
    msg = deliver(mail(sender=OUTSIDER, in_reply_to=f"<{first.article.message_id}>"))
    assert msg.ticket != first.ticket
    assert msg.decisions["follow_up"] == "references (sender not a participant)"
    assert first.ticket.articles.count() == 1


@pytest.mark.django_db
def test_a_reply_to_our_own_message_id_threads_for_anyone(org):
    """Our Message-IDs are capabilities: a colleague the customer forwarded our answer
    to may answer it."""
    ticket = deliver(mail()).ticket
    answer = replies.reply(org, ticket.pk, text="Fixed, thanks.")
    assert answer.outbox.get().message_id == answer.message_id
    # In-Reply-To is tried first: an older imported Message-ID in References is not.
    _imported_article(ticket, incoming=False)
    msg = deliver(
        mail(
            sender=OUTSIDER,
            subject="Re: Question",
            in_reply_to=f"<{answer.message_id}>",
            references=ZNUNY_ID,
        )
    )
    assert msg.ticket == ticket
    assert msg.decisions["follow_up"] == "references"
