"""Redaction and the mail around an article: the outbox message it went out as (sent
later, without what was removed), notifications that quoted it, and copies of it the
pipeline received twice."""

from __future__ import annotations

import pytest

from helpline.actions import admin, preferences
from helpline.actions.articles import NewAttachment
from helpline.actions.redaction import Removal, redact
from helpline.blobstore import read_blob
from helpline.errors import Conflict
from helpline.mail.intake import receive_and_dispatch
from helpline.mail.outbound import send_due
from helpline.mail.parse import parse_message
from helpline.models import (
    Article,
    HistoryEntry,
    HistoryType,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    Permission,
)
from helpline.responses import replies
from tests.privacy import traces
from tests.privacy.conftest import INFO, attachment_bytes, mail, receive
from tests.privacy.redaction_scene import make_lead
from tests.support import make_agent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def lead(org):
    """An agent who may redact in the queue (rw does not imply it)."""
    return make_lead(org)


def reply_with_file(agent, ticket, name: str, content: bytes) -> Article:
    draft = replies.Draft(
        to=["jane.roe@example.net"],
        cc=[],
        subject=f"Re: {ticket.title}",
        body="Here is the form you asked for.",
        attachments=[NewAttachment(name, "application/pdf", content)],
    )
    return replies.reply(agent, ticket.pk, draft=draft)


def test_a_reply_waiting_in_the_outbox_goes_out_without_the_removed_file(
    org, lead, settings, smtp_sink
):
    settings.HELPLINE_SMTP_URL = "smtp://127.0.0.1:9"  # down while the agent writes
    ticket = receive(mail(body="Please send me the form."))
    wrong = attachment_bytes("Snickerbloom")  # another customer's document
    article = reply_with_file(lead, ticket, "Snickerbloom-passport.pdf", wrong)
    row = OutboxMessage.objects.get(article=article)
    assert row.status == OutboxStatus.QUEUED
    assert row.raw_id == article.raw_id

    redact(
        lead,
        number=ticket.number,
        article_id=article.pk,
        removal=Removal(attachment_ids=frozenset([article.attachments.get().pk])),
        reason="wrong customer's passport attached",
    )

    row.refresh_from_db()
    article.refresh_from_db()
    assert row.status == OutboxStatus.QUEUED
    assert row.raw_id == article.raw_id  # the outbox sends what the article shows
    assert traces.find(["Snickerbloom", wrong[-64:]], searcher=org.agent) == []
    settings.HELPLINE_SMTP_URL = smtp_sink.url
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt=row.created)
    assert send_due()["sent"] == 1
    (sent,) = smtp_sink.received
    assert b"Snickerbloom" not in sent.data
    parsed = parse_message(sent.data)
    assert parsed.body_text.startswith("Here is the form you asked for.")
    assert [a.filename for a in parsed.attachments] == ["removed-by-redaction.txt"]


def test_the_raw_mail_of_a_message_waiting_to_be_sent_is_not_removed(
    org, lead, settings
):
    settings.HELPLINE_SMTP_URL = "smtp://127.0.0.1:9"
    ticket = receive(mail(body="Please send me the form."))
    article = reply_with_file(lead, ticket, "form.pdf", b"%PDF form")
    with pytest.raises(Conflict, match="still waiting to be sent"):
        redact(
            lead,
            number=ticket.number,
            article_id=article.pk,
            removal=Removal(raw=True),
            reason="test",
        )
    assert OutboxMessage.objects.get(article=article).raw_id == article.raw_id


def test_a_message_being_sent_at_this_moment_is_refused(org, lead, settings):
    settings.HELPLINE_SMTP_URL = "smtp://127.0.0.1:9"
    ticket = receive(mail(body="Please send me the form."))
    article = reply_with_file(lead, ticket, "form.pdf", b"%PDF form")
    OutboxMessage.objects.filter(article=article).update(status=OutboxStatus.SENDING)
    with pytest.raises(Conflict, match="being sent at this moment"):
        redact(
            lead,
            number=ticket.number,
            article_id=article.pk,
            removal=Removal(body=True),
            reason="test",
        )
    article.refresh_from_db()
    assert article.body_text.startswith("Here is the form")
    assert not HistoryEntry.objects.filter(type=HistoryType.REDACTED).exists()


def test_a_notification_that_quoted_the_text_keeps_only_the_note(org, lead, settings):
    settings.HELPLINE_SMTP_URL = "smtp://127.0.0.1:9"
    follower = make_agent("follower")
    admin.grant(org.info.group, [Permission.RO], agent=follower)
    preferences.set_preferences(follower, followed_queue_ids=[org.info.pk])
    ticket = receive(
        mail(subject="Card Brimblecorn", body="My card is 4111 Frobnitzel 1111.")
    )
    (note,) = OutboxMessage.objects.filter(article__isnull=True)
    assert b"Frobnitzel" in read_blob(note.raw)

    article = ticket.articles.get()
    redact(
        lead,
        number=ticket.number,
        article_id=article.pk,
        removal=Removal(body=True, subject=True),
        reason="card number",
    )

    note.refresh_from_db()
    told = parse_message(read_blob(note.raw))
    assert "removed by redaction on" in told.body_text
    assert ticket.number in told.subject  # the rest of the notification stays
    assert traces.find(["Frobnitzel", "Brimblecorn"], searcher=org.agent) == []


def test_a_copy_received_twice_is_rewritten_too(org, lead):
    first = mail(body="My tax number is Grazzlebottom.")
    ticket = receive(first)
    # The same message again (same Message-ID and text), through another relay.
    again = b"Received: from relay2.example.net\n" + first
    copy = receive_and_dispatch(again, transport="pipe", envelope_recipients=[INFO])
    assert copy.status == InboundStatus.REJECTED
    assert b"Grazzlebottom" in read_blob(copy.raw)

    article = ticket.articles.get()
    redact(
        lead,
        number=ticket.number,
        article_id=article.pk,
        removal=Removal(body=True),
        reason="tax number",
    )
    copy = InboundMessage.objects.get(pk=copy.pk)
    assert b"relay2.example.net" in read_blob(copy.raw)
    assert traces.find(["Grazzlebottom"], searcher=org.agent) == []
