"""An erasure in the tickets that are not the person's own: one batch of them, in
one transaction (``actions.erasure`` runs them through ``removal.in_batches``).

In each ticket (not under legal hold): the person's articles are anonymised as an
anonymised ticket's are; the articles that name them are rewritten (headers, subject,
bodies) and lose their raw mail and outgoing copies; the title and the history lose
the address and the names; agent notifications about the ticket that name the person
are deleted; the search entry is rebuilt.  The statements do not grow with the
size of the tickets, except for one per changed row kind written in bulk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import F

from helpline.actions import removal
from helpline.actions.erasure_text import Rewriter
from helpline.blobstore import read_blob
from helpline.models import (
    Article,
    Attachment,
    HistoryEntry,
    InboundMessage,
    OutboxMessage,
    Ticket,
)

if TYPE_CHECKING:
    from helpline.actions.erasure import Found

HEADER_FIELDS = ("from_addr", "reply_to", "to_addr", "cc_addr", "bcc_addr")
TEXT_FIELDS = ("subject", "body_text", "body_html")
WRITE_BATCH = 500


def erase_in_others(
    ids: list[int],
    *,
    actor: Any | None,
    reason: str,
    run: Any,
    found: Found,
    rewriter: Rewriter,
) -> removal.Outcome:
    """The erasure in these other tickets (ids); returns what it changed."""
    outcome = removal.Outcome()
    tickets = {
        pk: (number, hold, title)
        for pk, number, hold, title in Ticket.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "number", "legal_hold", "title")
    }
    outcome.held = [number for number, hold, _ in tickets.values() if hold]
    live = [pk for pk, (_, hold, _) in tickets.items() if not hold]
    if not live:
        return outcome
    blobs: set[int] = set()
    authored = [a for t in live for a in found.authored.get(t, [])]
    mentioned = [a for t in live for a in found.mentioned.get(t, [])]
    if authored:
        outcome.articles, outcome.attachments = _anonymise(authored, live, blobs)
    if mentioned:
        outcome.rewritten = _rewrite(mentioned, live, rewriter, blobs)
    _rewrite_titles(tickets, live, rewriter)
    _rewrite_history(live, rewriter)
    outcome.messages = _drop_notifications(live, rewriter, blobs)
    Ticket.objects.filter(pk__in=live).update(version=F("version") + 1)
    removal.reindex(live)
    outcome.blobs = removal.release_blobs(blobs)
    outcome.changed = [tickets[pk][0] for pk in live]
    return outcome


def _anonymise(
    authored: list[int], live: list[int], blobs: set[int]
) -> tuple[int, int]:
    """The person's own articles, as in an anonymised ticket: (articles, files)."""
    mine = Article.objects.filter(pk__in=authored, ticket_id__in=live)
    raws = list(mine.values_list("raw_id", flat=True))
    _, mail = removal.drop_mail(
        OutboxMessage.objects.filter(article__in=mine),
        InboundMessage.objects.filter(article__in=mine),
    )
    files, attached = removal.drop_attachments(
        Attachment.objects.filter(article__in=mine)
    )
    blobs.update(b for b in (*raws, *mail, *attached) if b is not None)
    mine.update(**removal.BLANK_ARTICLE)
    removal.scrub_history(HistoryEntry.objects.filter(article_id__in=authored))
    return len(raws), files


def _rewrite(
    mentioned: list[int], live: list[int], rewriter: Rewriter, blobs: set[int]
) -> int:
    """The articles that name the person: address and names replaced, raw mail
    and outgoing copies gone (they have them too)."""
    rows = Article.objects.filter(pk__in=mentioned, ticket_id__in=live)
    changed: list[Article] = []
    for pk, raw, *values in rows.values_list(
        "pk", "raw_id", *HEADER_FIELDS, *TEXT_FIELDS
    ):
        headers = values[: len(HEADER_FIELDS)]
        texts = values[len(HEADER_FIELDS) :]
        fields = {
            **{
                f: rewriter.header(v)
                for f, v in zip(HEADER_FIELDS, headers, strict=True)
            },
            **{f: rewriter.text(v) for f, v in zip(TEXT_FIELDS, texts, strict=True)},
        }
        if raw is not None:
            blobs.add(raw)
        changed.append(Article(pk=pk, raw=None, **fields))
    _, mail = removal.drop_mail(
        OutboxMessage.objects.filter(article__in=rows),
        InboundMessage.objects.filter(article__in=rows),
    )
    blobs.update(mail)
    Article.objects.bulk_update(
        changed, [*HEADER_FIELDS, *TEXT_FIELDS, "raw"], batch_size=WRITE_BATCH
    )
    return len(changed)


def _rewrite_titles(
    tickets: dict[int, tuple[str, bool, str]], live: list[int], rewriter: Rewriter
) -> None:
    changed = [
        Ticket(pk=pk, title=rewriter.text(tickets[pk][2]))
        for pk in live
        if rewriter.mentions(tickets[pk][2])
    ]
    if changed:
        Ticket.objects.bulk_update(changed, ["title"], batch_size=WRITE_BATCH)


def _scrubbed(value: Any, rewriter: Rewriter) -> Any:
    if isinstance(value, str):
        return rewriter.text(value)
    if isinstance(value, list):
        return [_scrubbed(v, rewriter) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, rewriter) for k, v in value.items()}
    return value


def _rewrite_history(live: list[int], rewriter: Rewriter) -> None:
    """History values that name the person (a customer changed, a failed delivery,
    a subject) with the address and names replaced."""
    changed = []
    for pk, data in HistoryEntry.objects.filter(ticket_id__in=live).values_list(
        "pk", "data"
    ):
        new = _scrubbed(data, rewriter)
        if new != data:
            changed.append(HistoryEntry(pk=pk, data=new))
    if changed:
        HistoryEntry.objects.bulk_update(changed, ["data"], batch_size=WRITE_BATCH)


def _drop_notifications(live: list[int], rewriter: Rewriter, blobs: set[int]) -> int:
    """Agent notifications about these tickets that name the person."""
    naming = [
        message.pk
        for message in OutboxMessage.objects.filter(
            ticket_id__in=live, article__isnull=True
        ).select_related("raw")
        if rewriter.mentions_mail(read_blob(message.raw))
    ]
    if not naming:
        return 0
    count, mail = removal.drop_mail(
        OutboxMessage.objects.filter(pk__in=naming), InboundMessage.objects.none()
    )
    blobs.update(mail)
    return count
