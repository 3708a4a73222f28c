"""Where else a redacted article's content is kept, and removing it from there.

``actions.redaction`` removes the article's own fields and files; this module finds
and rewrites the copies:

- the raw mail: the article's, the inbound message's it came in as (and of copies of
  it the pipeline rejected as duplicates or quarantined: the same Message-ID, no
  article), the outbox message's it went out as.  Each is rewritten without what was
  removed by the mail layer's editor (``MailEditor``), or, when the raw mail as a
  whole is removed, replaced by a short note (the inbound and outbox rows keep their
  place: when and to whom, never what).  The old bytes are released: gone unless
  another row still refers to them;
- notifications to agents that quoted the article's text or subject (queued or sent,
  in the outbox without an article, in the hour after the article);
- what the mail pipeline recorded of the message (``decisions``, ``reason``,
  ``error``) and history entries that named the subject or a removed file;
- the search index.

A message still waiting in the outbox goes out without what was removed; one being
sent at this very moment is refused (try again in a minute), and so is removing the
raw mail of one still waiting (that raw mail is what will be sent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from helpline.blobstore import read_blob, store_blob
from helpline.errors import Conflict
from helpline.models import (
    Article,
    Attachment,
    Blob,
    HistoryEntry,
    HistoryType,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    Ticket,
)
from helpline.search import indexer

# What stands where removed words were, in records and history entries.
REMOVED = "(removed by redaction)"
# Notifications to agents quote a new article; they are queued right after it.
NOTIFICATION_WINDOW = timedelta(hours=1)
# Notifications quote the first lines of an article (responses.notify).
QUOTED_LINES = 15
# Shorter removed words are looked for only as whole values in records.
MIN_NEEDLE = 4


@dataclass(frozen=True)
class MailEditor:
    """How stored messages are rewritten.  The mail layer provides it
    (``helpline.mail.rewrite``) and registers it in ``HelplineConfig.ready``: the
    domain layer does not import the mail layer.  Both raise a ``HelplineError``
    when a message cannot be rewritten without what is removed."""

    # without(raw, note=, body=, contents=, texts=) -> the message without them
    without: Callable[..., bytes]
    # replacing(raw, texts=, note=, where=) -> the message with each text replaced,
    # the same bytes when ``where`` or none of the texts is in it
    replacing: Callable[..., bytes]


editors: list[MailEditor] = []


def editor() -> MailEditor:
    if not editors:
        raise RuntimeError("no mail editor registered (HelplineConfig.ready)")
    return editors[0]


@dataclass
class Work:
    """What one redaction removes from one article, and the blobs it replaced."""

    article: Article
    note: str
    body: bool = False
    subject: str = ""  # the removed subject, or empty
    title: str = ""  # the ticket's title, when it goes with the subject
    files: list[Attachment] = field(default_factory=list)
    raw: bool = False
    contents: list[bytes] = field(default_factory=list)  # the files' bytes

    def texts(self) -> list[str]:
        """Words removed that headers and records may repeat."""
        return [t for t in (self.subject, self.title) if t.strip()]

    def quoted(self) -> list[str]:
        """What a notification quoted of the article (responses.notify)."""
        found = self.texts()
        if self.body and self.article.body_text.strip():
            lines = self.article.body_text.strip().splitlines()[:QUOTED_LINES]
            found.append("\n".join(lines))
        return found

    def rewrite_messages(self) -> list[int]:
        """The raw mail of the article and of its inbound and outbox rows, without
        what is removed; the ids of the blobs no longer referred to by them."""
        article = self.article
        inbound = list(_inbound_copies(article))
        outbox = list(OutboxMessage.objects.filter(article=article))
        old = (
            {article.raw_id} | {m.raw_id for m in inbound} | {m.raw_id for m in outbox}
        )
        old.discard(None)
        if not old:
            return []
        replaced = self._replacements(sorted(i for i in old if i is not None))
        if article.raw_id in replaced:
            article.raw = None if self.raw else replaced[article.raw_id]
        for model, rows in ((InboundMessage, inbound), (OutboxMessage, outbox)):
            for blob_id, new in replaced.items():
                ids = [r.pk for r in rows if r.raw_id == blob_id]
                if ids:
                    model._default_manager.filter(pk__in=ids).update(raw=new)
        for row in outbox:
            if self.raw and row.status == OutboxStatus.FAILED:
                OutboxMessage.objects.filter(pk=row.pk).update(
                    last_error="Its raw mail was removed by redaction; "
                    "retrying it would send the note that stands in its place."
                )
        return list(replaced)

    def _replacements(self, blob_ids: list[int]) -> dict[int, Blob]:
        if self.raw:
            placeholder = store_blob(_note_message(self.note))
            return {i: placeholder for i in blob_ids if i != placeholder.pk}
        replaced: dict[int, Blob] = {}
        for blob in Blob.objects.filter(pk__in=blob_ids).defer("data"):
            raw = read_blob(blob)
            new = editor().without(
                raw,
                note=self.note,
                body=self.body,
                contents=self.contents,
                texts=self.texts(),
            )
            if new != raw:
                replaced[blob.pk] = store_blob(new)
        return replaced


def _inbound_copies(article: Article) -> Any:
    """The inbound messages that hold the article's mail: its own, and copies of it
    (same Message-ID) that made no article."""
    copies = Q(article=article)
    if article.incoming and article.message_id:
        copies |= Q(message_id=article.message_id, article__isnull=True)
    return InboundMessage.objects.select_for_update().filter(copies).order_by("pk")


def _note_message(note: str) -> bytes:
    """What stands where a raw mail was removed as a whole."""
    return (
        f"Subject: {note}\nMIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="us-ascii"\n\n'
        f"The raw mail was {note}.\n"
    ).encode("ascii")


def check_outbox(article: Article, *, whole_raw: bool) -> None:
    """Refuse while the article's mail is being sent; and removing the raw mail of
    one waiting to be sent (it is what will be sent).  The rows stay locked until
    the commit, so the outbox cannot start sending them meanwhile."""
    for row in OutboxMessage.objects.select_for_update().filter(article=article):
        if row.status == OutboxStatus.SENDING:
            raise Conflict(
                f"Article {article.pk} is being sent at this moment; "
                "try again in a minute."
            )
        if whole_raw and row.status == OutboxStatus.QUEUED:
            raise Conflict(
                f"Article {article.pk} is still waiting to be sent, and its raw mail "
                "is what will be sent. Remove its text or an attachment instead (it "
                "then goes out without them), or wait until it has been sent."
            )


def rewrite_notifications(ticket: Ticket, article: Article, work: Work) -> list[int]:
    """Notifications (outbox rows without an article, queued within the hour after
    the article) that quoted its text or subject, with the note in their place; the
    blob ids they no longer refer to."""
    texts = work.quoted()
    if not texts:
        return []
    rows = list(
        OutboxMessage.objects.select_for_update()
        .filter(
            article__isnull=True,
            created__gte=article.created,
            created__lt=article.created + NOTIFICATION_WINDOW,
        )
        .select_related("raw")
        .order_by("pk")
    )
    released = []
    for row in rows:
        raw = read_blob(row.raw)
        new = editor().replacing(raw, texts=texts, note=work.note, where=ticket.number)
        if new != raw and row.status == OutboxStatus.SENDING:
            raise Conflict(
                f"A notification quoting article {article.pk} is being sent at this "
                "moment; try again in a minute."
            )
        if new != raw:
            OutboxMessage.objects.filter(pk=row.pk).update(raw=store_blob(new))
            released.append(row.raw_id)
    return released


def _holds(value: str, needle: str) -> bool:
    # A short needle (a subject "Hi") would be found inside other words: only whole.
    return value == needle or (len(needle) >= MIN_NEEDLE and needle in value)


def _scrubbed(value: Any, needles: Sequence[str]) -> Any:
    """``value`` (JSON) with every string holding a needle replaced by REMOVED."""
    if isinstance(value, str):
        return REMOVED if any(_holds(value, n) for n in needles) else value
    if isinstance(value, list):
        return [_scrubbed(v, needles) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, needles) for k, v in value.items()}
    return value


def scrub_records(ticket: Ticket, article: Article, work: Work) -> None:
    """The pipeline's record of the message and the ticket's history entries,
    without the removed subject and file names."""
    needles = [*work.texts(), *(a.filename for a in work.files)]
    if not needles:
        return
    for message in _inbound_copies(article).only("pk", "decisions", "reason", "error"):
        changed = {
            name: _scrubbed(getattr(message, name), needles)
            for name in ("decisions", "reason", "error")
        }
        if any(changed[n] != getattr(message, n) for n in changed):
            InboundMessage.objects.filter(pk=message.pk).update(**changed)
    entries = HistoryEntry.objects.filter(Q(ticket=ticket) | Q(article=article))
    for item in entries.exclude(type=HistoryType.REDACTED).only("pk", "data"):
        data = _scrubbed(item.data, needles)
        if data != item.data:
            # History is append-only for what happened; a redaction takes out
            # only the words it removes, the entry stays.
            HistoryEntry.objects.filter(pk=item.pk).update(data=data)


def reindex(ticket: Ticket) -> None:
    """The ticket's index entry rebuilt now (inside the transaction: no search
    finds the removed words once it has committed), and what the index keeps of
    the old entry purged after the commit."""
    if indexer.index_now([ticket.pk]):
        transaction.on_commit(indexer.purge_removed_later)
