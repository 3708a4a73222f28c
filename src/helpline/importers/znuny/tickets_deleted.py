"""Tickets and articles deleted in Znuny since they were imported: deleted here too.

Znuny deletes a ticket (``TicketDelete``: an agent's "delete", a generic agent job,
``Maint::Ticket::Delete``, the data-protection add-ons) or one article
(``ArticleDelete``) with everything that is part of it, and leaves no trace: no
history row, no change time on the ticket.  So every run compares the ids Znuny
has with those the import recorded (``ImportedObject``), both read as streams
(the source's ids into ``Ids``, a bitmap of a bit per id; the records a chunk at a
time), and what Znuny no longer has is removed here through Helpline's removal
(``actions.removal.delete_tickets`` / ``delete_articles``): the same deletion that
retention and erasure use, with its attachments, raw mail, search entries and
records, in batches, the tickets under legal hold left alone (reported), and an
audit line naming the tickets.  A ticket merged into a deleted one stays (Znuny
keeps it too), no longer merged into anything, as a fresh import gives it.

The run's report counts them as ``deleted`` under ``ticket`` and ``article``.  A
dry run counts what it would delete and deletes nothing.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from django.db.models import F

from helpline.actions.removal import delete_articles, delete_tickets, removing
from helpline.importers.znuny.runner import Context
from helpline.models import Article, ImportedObject, Ticket

log = logging.getLogger(__name__)

CHUNK = 10_000


class Ids:
    """A set of integer ids in little memory: a bitmap (a bit per id up to the
    highest) when that is no larger than the ids as 8-byte integers, else the sorted
    integers (ids far apart).  A million dense ids: 125 KB."""

    def __init__(self, ids: Iterable[int]) -> None:
        found = array("q", ids)
        top = max(found, default=-1)
        self.bits: bytearray | None = None
        self.sorted: array[int] | None = None
        if top // 8 + 1 <= 8 * len(found):
            self.bits = bytearray(top // 8 + 1)
            for value in found:
                if value >= 0:
                    self.bits[value >> 3] |= 1 << (value & 7)
        else:
            self.sorted = array("q", sorted(found))

    def __contains__(self, value: int) -> bool:
        if self.bits is not None:
            byte = value >> 3
            return 0 <= byte < len(self.bits) and bool(
                self.bits[byte] & (1 << (value & 7))
            )
        assert self.sorted is not None
        at = bisect_left(self.sorted, value)
        return at < len(self.sorted) and self.sorted[at] == value


def gone(ctx: Context, kind: str, table: str) -> list[tuple[str, int | None]]:
    """(source id, Helpline id) of every record of ``kind`` whose row ``table`` no
    longer holds."""
    present = Ids(int(r["id"]) for r in ctx.source.rows(f"SELECT id FROM {table}"))  # noqa: S608 - a constant
    missing: list[tuple[str, int | None]] = []
    records = (
        ImportedObject.objects.filter(source=ctx.source.name, kind=kind)
        .values_list("source_id", "target_id")
        .iterator(chunk_size=CHUNK)
    )
    for source_id, target in records:
        try:
            number = int(source_id)
        except ValueError:
            continue
        if number not in present:
            missing.append((source_id, target))
    return missing


def import_deletions(ctx: Context) -> None:
    reason = f"deleted in Znuny (import source {ctx.source.name})"
    tickets = _missing(ctx, "ticket")
    # Those of tickets Znuny deleted go with them (or stay with a ticket under
    # legal hold, which is reported once).
    articles = _articles_left(_missing(ctx, "article"), set(tickets))
    if ctx.dry_run:  # counted, not deleted
        ctx.report["ticket"].deleted += len(tickets)
        ctx.report["article"].deleted += len(articles) + sum(
            Article.objects.filter(ticket_id__in=part).count()
            for part in _chunks(tickets)
        )
        return
    if not tickets and not articles:
        return
    with removing():  # only when there is something to delete: it purges the index
        if tickets:
            _delete_tickets(ctx, tickets, reason)
        if articles:
            _delete_articles(ctx, articles, reason)


def _missing(ctx: Context, kind: str) -> list[int]:
    """The Helpline ids of what Znuny no longer has (``gone``); the records of rows
    that were never brought across (a skipped ticket) are dropped."""
    missing = gone(ctx, kind, kind)
    ctx.mapping.forget(kind, [key for key, target in missing if target is None])
    return [target for _, target in missing if target is not None]


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _articles_left(articles: list[int], tickets: set[int]) -> list[int]:
    return [
        pk
        for part in _chunks(articles)
        for pk, ticket in Article.objects.filter(pk__in=part).values_list(
            "pk", "ticket_id"
        )
        if ticket not in tickets
    ]


def _delete_tickets(ctx: Context, pks: list[int], reason: str) -> None:
    ctx.say(f"deleting {len(pks)} ticket(s) deleted in Znuny")
    # Znuny keeps a ticket merged into a deleted one: so does Helpline.
    for part in _chunks(pks):
        Ticket.objects.filter(merged_into_id__in=part).exclude(pk__in=pks).update(
            merged_into=None, version=F("version") + 1
        )
    outcome = delete_tickets(pks, actor=None, reason=reason)
    ctx.report["ticket"].deleted += len(outcome.deleted) + len(outcome.merged_parts)
    for number in outcome.held:
        ctx.report.skip("ticket", number, "deleted in Znuny, kept: under legal hold")
    _errors(ctx, "ticket", outcome.errors)
    ctx.report["article"].deleted += outcome.articles
    ctx.report["attachment"].deleted += outcome.attachments


def _delete_articles(ctx: Context, pks: list[int], reason: str) -> None:
    ctx.say(f"deleting {len(pks)} article(s) deleted in Znuny")
    outcome = delete_articles(pks, actor=None, reason=reason)
    ctx.report["article"].deleted += outcome.articles
    ctx.report["attachment"].deleted += outcome.attachments
    for number in outcome.held:
        ctx.report.skip(
            "article", number, "deleted in Znuny, kept: its ticket is under legal hold"
        )
    _errors(ctx, "article", outcome.errors)


def _errors(ctx: Context, kind: str, errors: list[dict[str, Any]]) -> None:
    for error in errors:
        for number in error["tickets"]:
            ctx.report.skip(
                kind, number, f"deleted in Znuny, cannot be deleted: {error['error']}"
            )
