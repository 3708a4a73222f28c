"""Adding articles (notes, phone calls, emails) with their attachments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from helpline.actions.access import access_ticket
from helpline.actions.history import entry, record_all, touch
from helpline.actions.mentions import do_mention
from helpline.blobstore import store_blob
from helpline.errors import InvalidInput
from helpline.models import (
    Article,
    ArticleChannel,
    Attachment,
    Blob,
    HistoryEntry,
    HistoryType,
    Permission,
    SenderType,
    Ticket,
)


@dataclass
class NewAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False


@dataclass
class NewArticle:
    channel: str = ArticleChannel.INTERNAL
    sender_type: str = SenderType.AGENT
    body_text: str = ""
    subject: str = ""
    body_html: str = ""
    from_addr: str = ""
    to_addr: str = ""
    cc_addr: str = ""
    bcc_addr: str = ""
    reply_to: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    # None: internal notes are hidden from the customer, everything else is shown.
    visible_to_customer: bool | None = None
    incoming: bool = False
    raw: bytes | None = None
    # The raw source when it is stored already (the inbound message's blob).
    raw_blob: Blob | None = None
    attachments: list[NewAttachment] = field(default_factory=list)

    def validate(self) -> None:
        if self.channel not in ArticleChannel.values:
            raise InvalidInput(f"Unknown article channel {self.channel!r}.")
        if self.sender_type not in SenderType.values:
            raise InvalidInput(f"Unknown sender type {self.sender_type!r}.")
        has_content = self.body_text.strip() or self.body_html.strip()
        has_raw = self.raw is not None or self.raw_blob is not None
        if not (has_content or self.attachments or has_raw):
            raise InvalidInput("An article needs a text.")


def permission_for(channel: str) -> str:
    """Notes need ``note``; anything that speaks to the customer needs ``rw``."""
    return Permission.NOTE if channel == ArticleChannel.INTERNAL else Permission.RW


def do_add_article(
    actor: Any | None,
    ticket: Ticket,
    new: NewArticle,
    *,
    history_type: HistoryType = HistoryType.ARTICLE,
) -> Article:
    """Store an article on a (row-locked) ticket; no permission check."""
    article = store_article(actor, ticket, new)
    touch(ticket)
    record_all([article_entry(actor, ticket, article, history_type=history_type)])
    return article


def store_article(actor: Any | None, ticket: Ticket, new: NewArticle) -> Article:
    """Write the article and its attachments, nothing else: ``do_add_article`` (or
    ``do_create_ticket``, for a ticket's first article) adds the history entry."""
    new.validate()
    article = article_row(actor, ticket, new)
    article.save(force_insert=True)
    if new.attachments:
        Attachment.objects.bulk_create(attachment_rows(article, new))
    return article


def article_row(actor: Any | None, ticket: Ticket, new: NewArticle) -> Article:
    """The article as ``store_article`` writes it, not saved yet (its raw message
    stored already); for writers of many at once (``tickets_bulk``)."""
    visible = new.visible_to_customer
    if visible is None:
        visible = new.channel != ArticleChannel.INTERNAL
    raw_blob = new.raw_blob
    if raw_blob is None and new.raw is not None:
        raw_blob = store_blob(new.raw)
    return Article(
        ticket=ticket,
        channel=new.channel,
        sender_type=new.sender_type,
        visible_to_customer=visible,
        incoming=new.incoming,
        created_by=actor,
        created=timezone.now(),
        from_addr=new.from_addr,
        to_addr=new.to_addr,
        cc_addr=new.cc_addr,
        bcc_addr=new.bcc_addr,
        reply_to=new.reply_to,
        subject=new.subject[:998],
        body_text=new.body_text,
        body_html=new.body_html,
        message_id=new.message_id[:998],
        in_reply_to=new.in_reply_to,
        references=new.references,
        raw=raw_blob,
    )


def attachment_rows(article: Article, new: NewArticle) -> list[Attachment]:
    """The attachments of ``new`` for the saved ``article``, not saved yet (their
    contents stored already)."""
    return [
        Attachment(
            article=article,
            blob=store_blob(a.content),
            filename=a.filename[:255],
            content_type=a.content_type[:255],
            content_id=a.content_id[:255],
            inline=a.inline,
            size=len(a.content),
        )
        for a in new.attachments
    ]


def article_entry(
    actor: Any | None,
    ticket: Ticket,
    article: Article,
    *,
    history_type: HistoryType = HistoryType.ARTICLE,
) -> HistoryEntry:
    """The (unsaved) history entry that records a new article."""
    return entry(
        ticket,
        history_type,
        actor,
        article=article,
        channel=article.channel,
        sender=article.sender_type,
        subject=article.subject,
    )


def add_article(actor: Any, ticket_id: int, new: NewArticle) -> Article:
    """Add a note, a phone call record or an email record to a ticket as ``actor``."""
    with transaction.atomic():
        ticket = access_ticket(
            actor, ticket_id, need=permission_for(new.channel), for_update=True
        )
        article = do_add_article(actor, ticket, new)
        if new.channel == ArticleChannel.INTERNAL:
            # "@login" in a note (actions.mentions; ``mentions.outcome_of(article)``).
            do_mention(actor, ticket, article)
        return article


def add_note(actor: Any, ticket_id: int, text: str, *, subject: str = "") -> Article:
    return add_article(
        actor,
        ticket_id,
        NewArticle(channel=ArticleChannel.INTERNAL, body_text=text, subject=subject),
    )
