"""Redaction: removing an article's text, subject, attachments or raw mail for good.

An agent holding ``redact`` on the ticket's queue (a permission ``rw`` does not imply)
removes, with a reason, what should never have been kept: an identity document sent
by mistake, a card number in a message.  What is removed is gone from every place
Helpline keeps it, in one transaction (``actions.redaction_copies`` finds the copies):

- the article's fields (``body``: its text and HTML; ``subject``: its subject, and the
  ticket's title when it was made from that subject);
- the attachment rows (``attachment``; the article's other attachments with the same
  bytes go too), and their bytes in the database or the blob store unless another
  row still refers to them (the same file in another ticket stays);
- the raw mail, rewritten without what was removed, or with ``raw`` replaced as a
  whole by a short note;
- the search index, rebuilt inside the transaction; what the index keeps of deleted
  entries is purged after it (``SearchBackend.purge_removed``).

Each removed thing gets a history entry ``redacted``: who, what (ids, size, content
type: never a file name nor any content) and the reason; the zoom shows it where the
content was (``get_tombstones``), and a download of a removed file answers 410
(``Redacted``).  Copies quoted in other articles (a reply quoting the message) are not
chased: the agent redacts those too.  A legal hold does not stop a redaction (it stops
deletion by retention and erasure), nor does a lock (nothing is answered).
Redacting what is gone already changes nothing and says so (``Redaction.already``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from helpline.actions import redaction_copies as copies
from helpline.actions.access import access_ticket
from helpline.actions.history import entry, record_all, touch
from helpline.blobstore import kept_only_if_committed, read_blob, release
from helpline.errors import InvalidInput, NotFound
from helpline.models import (
    Article,
    Attachment,
    HistoryEntry,
    HistoryType,
    Permission,
    Ticket,
)

BODY = "body"
SUBJECT = "subject"
ATTACHMENT = "attachment"
RAW = "raw"
MAX_REASON = 500
# The ticket's title when it was the removed subject.
TITLE_REMOVED = copies.REMOVED


class Redacted(NotFound):
    """Asked for something a redaction removed: gone, on purpose."""

    code = "redacted"
    http_status = 410


@dataclass(frozen=True)
class Removal:
    """What to remove from one article."""

    body: bool = False
    subject: bool = False
    attachment_ids: frozenset[int] = frozenset()
    raw: bool = False

    def validate(self) -> None:
        if not (self.body or self.subject or self.attachment_ids or self.raw):
            raise InvalidInput(
                "Say what to remove: the text, the subject, an attachment or the "
                "raw mail."
            )


@dataclass
class Removed:
    """One thing removed, as its history entry names it: never its content."""

    what: str
    attachment_id: int | None = None
    size: int | None = None
    content_type: str = ""
    # The subject was the ticket's title too, which went with it.
    title: bool = False

    def data(self) -> dict[str, Any]:
        found: dict[str, Any] = {"what": self.what}
        if self.attachment_id is not None:
            found["attachment"] = self.attachment_id
        if self.size is not None:
            found["size"] = self.size
        if self.content_type:
            found["content_type"] = self.content_type
        if self.title:
            found["title"] = True
        return found


@dataclass
class Redaction:
    """What ``redact`` did."""

    ticket: Ticket
    article: Article
    removed: list[Removed] = field(default_factory=list)
    # Asked for again but gone already (``body``, ``attachment 12`` ...).
    already: list[str] = field(default_factory=list)


def check_reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput("A redaction needs a reason.")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"The reason is longer than {MAX_REASON} characters.")
    return text


def access_article(
    agent: Any, number: str, article_id: int, *, for_update: bool = False
) -> Article:
    """An article of a ticket the agent may redact in (both row-locked with
    ``for_update``, for ``do_redact``): ``TicketNotFound`` when the ticket is not
    visible, ``PermissionDenied`` without ``redact``, ``NotFound`` for an article of
    another ticket."""
    ticket = access_ticket(
        agent, number=number, need=Permission.REDACT, for_update=for_update
    )
    articles = Article.objects.select_related("raw").defer("raw__data")
    if for_update:
        articles = articles.select_for_update(of=("self",))
    article = articles.filter(ticket=ticket, pk=article_id).first()
    if article is None:
        raise NotFound(f"Article {article_id} is not in ticket {ticket.number}.")
    article.ticket = ticket
    return article


def redact(
    agent: Any, *, number: str, article_id: int, removal: Removal, reason: str
) -> Redaction:
    """Remove ``removal`` from article ``article_id`` of ticket ``number`` as
    ``agent``, who needs ``redact`` on the ticket's queue; ``reason`` is recorded.

    All or nothing: a failure on the way (the blob store down, a message that cannot
    be rewritten) leaves everything as it was, blobs written meanwhile included."""
    text = check_reason(reason)
    removal.validate()
    with kept_only_if_committed(), transaction.atomic():
        article = access_article(agent, number, article_id, for_update=True)
        return do_redact(agent, article.ticket, article, removal, reason=text)


def do_redact(
    actor: Any, ticket: Ticket, article: Article, removal: Removal, *, reason: str
) -> Redaction:
    """Remove ``removal`` from a (row-locked) article of a (row-locked) ticket; no
    permission check.  Runs inside the caller's transaction."""
    result = Redaction(ticket, article)
    before = _redacted_before(article)
    work = copies.Work(
        article, note=f"removed by redaction on {timezone.localtime():%F}"
    )
    if removal.body:
        if BODY in before and not (article.body_text or article.body_html):
            result.already.append(BODY)
        else:
            work.body = True
            result.removed.append(Removed(BODY))
    if removal.subject:
        if SUBJECT in before and not article.subject:
            result.already.append(SUBJECT)
        else:
            work.subject = article.subject
            title = ticket.title == " ".join(article.subject.split())[:255]
            work.title = ticket.title if title and article.subject.strip() else ""
            result.removed.append(Removed(SUBJECT, title=bool(work.title)))
    work.files = _attachments(article, removal.attachment_ids, before, result)
    if removal.raw:
        if article.raw is not None:
            work.raw = True
            result.removed.append(Removed(RAW, size=article.raw.size))
        elif RAW in before:
            result.already.append(RAW)
        else:
            raise InvalidInput(f"Article {article.pk} has no raw mail.")
    if not result.removed:
        return result
    _carry_out(ticket, article, work)
    record_all(
        [
            entry(
                ticket,
                HistoryType.REDACTED,
                actor,
                article=article,
                **removed.data(),
                reason=reason,
            )
            for removed in result.removed
        ]
    )
    return result


def _carry_out(ticket: Ticket, article: Article, work: copies.Work) -> None:
    copies.check_outbox(article, whole_raw=work.raw)
    work.contents = [
        read_blob(a.blob) for a in {a.blob_id: a for a in work.files}.values()
    ]
    released = work.rewrite_messages()
    released += copies.rewrite_notifications(ticket, article, work)
    copies.scrub_records(ticket, article, work)
    fields = []
    if work.body:
        article.body_text = article.body_html = ""
        fields += ["body_text", "body_html"]
    if work.subject or work.title:
        article.subject = ""
        fields.append("subject")
    fields.append("raw")
    article.save(update_fields=fields)
    if work.files:
        released += [a.blob_id for a in work.files]
        Attachment.objects.filter(pk__in=[a.pk for a in work.files]).delete()
    release(released)
    if work.title:
        ticket.title = TITLE_REMOVED
        touch(ticket, "title")
    else:
        touch(ticket)
    copies.reindex(ticket)


def _redacted_before(article: Article) -> set[str | int]:
    """What earlier redactions removed from the article: kinds and attachment ids."""
    found: set[str | int] = set()
    for data in HistoryEntry.objects.filter(
        article=article, type=HistoryType.REDACTED
    ).values_list("data", flat=True):
        found.add(str(data.get("what", "")))
        if data.get("attachment") is not None:
            found.add(int(data["attachment"]))
    return found


def _attachments(
    article: Article,
    ids: Iterable[int],
    before: set[str | int],
    result: Redaction,
) -> list[Attachment]:
    """The attachments to remove: those asked for and the article's others with the
    same bytes (which would keep them); ids removed before are noted as such."""
    wanted = set(ids)
    if not wanted:
        return []
    chosen = list(
        Attachment.objects.filter(article=article, pk__in=wanted).select_related("blob")
    )
    for missing in sorted(wanted - {a.pk for a in chosen}):
        if missing not in before:
            raise NotFound(f"Attachment {missing} is not in article {article.pk}.")
        result.already.append(f"attachment {missing}")
    if not chosen:
        return []
    files = list(
        Attachment.objects.filter(
            article=article, blob_id__in={a.blob_id for a in chosen}
        )
        .select_related("blob")
        .order_by("pk")
    )
    result.removed += [
        Removed(ATTACHMENT, a.pk, size=a.size, content_type=a.content_type)
        for a in files
    ]
    return files


# -- what the interfaces show -------------------------------------------------------
@dataclass
class Tombstone:
    """Where removed content was: what, why, by whom, when."""

    what: str
    reason: str
    actor: str
    at: datetime
    attachment_id: int | None = None
    size: int | None = None
    content_type: str = ""


def _tombstone(item: HistoryEntry) -> Tombstone:
    data = item.data
    return Tombstone(
        what=str(data.get("what", "")),
        reason=str(data.get("reason", "")),
        actor=item.actor.get_username() if item.actor is not None else "",
        at=item.created,
        attachment_id=data.get("attachment"),
        size=data.get("size"),
        content_type=str(data.get("content_type", "")),
    )


def get_tombstones(article_ids: Iterable[int]) -> dict[int, list[Tombstone]]:
    """{article id: what redactions removed from it, oldest first}: one query."""
    found: dict[int, list[Tombstone]] = {}
    ids = list(article_ids)
    if not ids:
        return found
    for item in (
        HistoryEntry.objects.filter(type=HistoryType.REDACTED, article_id__in=ids)
        .select_related("actor")
        .order_by("created", "id")
    ):
        assert item.article_id is not None
        found.setdefault(item.article_id, []).append(_tombstone(item))
    return found


def _gone(message: str, item: HistoryEntry | None) -> Redacted | None:
    if item is None:
        return None
    stone = _tombstone(item)
    return Redacted(
        f"{message} was removed by redaction on {timezone.localtime(stone.at):%F} "
        f"by {stone.actor or 'the system'} ({stone.reason})."
    )


def removed_attachment(ticket: Ticket, attachment_id: int) -> Redacted | None:
    """The error to answer with when ``attachment_id`` of ``ticket`` was redacted
    (None when it never existed there: a plain "not found")."""
    item = (
        HistoryEntry.objects.filter(
            type=HistoryType.REDACTED,
            article__ticket=ticket,
            data__what=ATTACHMENT,
            data__attachment=attachment_id,
        )
        .select_related("actor")
        .first()
    )
    return _gone("This attachment", item)


def removed_raw(ticket: Ticket, article_id: int) -> Redacted | None:
    """The error to answer with when the raw mail of ``article_id`` was redacted."""
    item = (
        HistoryEntry.objects.filter(
            type=HistoryType.REDACTED,
            article_id=article_id,
            article__ticket=ticket,
            data__what=RAW,
        )
        .select_related("actor")
        .first()
    )
    return _gone("The raw mail of this article", item)
