"""Articles an earlier run imported, made what Znuny has now, for every ticket a run
reads again.

Znuny changes an article in place in two ways.  ``ArticleUpdate`` sets its
visibility to the customer or its sender type (``article``), or a header or the body
(``article_data_mime``, with that row's change time: Znuny does it when it decrypts
a PGP or S/MIME mail).
``TicketMerge`` moves every article of the merged ticket to the main ticket, with
each history row that names one of them, ids unchanged (Kernel/System/Ticket.pm).

A batch reads the ``article`` and ``article_data_mime`` rows of all its tickets'
articles anyway; for those imported before, Helpline's rows are compared with what
the source gives now and whatever differs is written, the ticket included.  An
article that moved takes the history entries naming it along, as Znuny's merge
does, and ``tickets_history.unimported`` keeps the history rows that came with it
from being imported a second time.  What ends in Helpline is what a fresh import of
the source gives.  Attachments and raw mail are read again only where Znuny wrote
them anew (``articles.Stale``; ``tickets.Batch._reread``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F

from helpline.importers.znuny.articles import chunks
from helpline.models import Article, HistoryEntry, Ticket

# What ``articles.fields`` gives, and the ticket: the attribute names compared.
COMPARED = (
    "ticket_id",
    "channel",
    "sender_type",
    "visible_to_customer",
    "incoming",
    "created_by_id",
    "created",
    "from_addr",
    "to_addr",
    "cc_addr",
    "bcc_addr",
    "reply_to",
    "subject",
    "body_text",
    "message_id",
    "in_reply_to",
    "references",
)
# What an article redacted in Helpline keeps as Helpline has it (its content).
CONTENT = frozenset(
    {
        "from_addr",
        "to_addr",
        "cc_addr",
        "bcc_addr",
        "reply_to",
        "subject",
        "body_text",
        "message_id",
        "in_reply_to",
        "references",
    }
)
_NAMES = {f.attname: f.name for f in Article._meta.concrete_fields}


@dataclass
class Changes:
    updated: int = 0  # articles written
    pks: set[int] = field(default_factory=set)  # which
    history_moved: int = 0  # history entries that followed a moved article
    tickets: set[int] = field(default_factory=set)  # whose articles changed


def update_imported(
    wanted: dict[int, dict[str, Any]], keep: set[int] | frozenset[int] = frozenset()
) -> Changes:
    """Make Helpline's articles (pk -> the ``COMPARED`` values the source gives now)
    so: a query per 500 articles to read them, one to write those that differ; an
    article that moved takes its history entries along.  The tickets that gained or
    lost an article or had one changed get a new ``version`` (what the API's ETag
    and the edit-collision check go by).  ``keep``: articles redacted in Helpline,
    whose ``CONTENT`` stays as it is (they still move, and change visibility)."""
    changes = Changes()
    changed: list[Article] = []
    names: set[str] = set()
    moved: dict[int, int] = {}  # article pk -> the ticket it moves to
    for part in chunks(list(wanted)):
        for article in Article.objects.filter(pk__in=part).only(
            *(_NAMES[a] for a in COMPARED)
        ):
            values = wanted[article.pk]
            differ = [
                a
                for a in COMPARED
                if getattr(article, a) != values[a]
                and not (article.pk in keep and a in CONTENT)
            ]
            if not differ:
                continue
            if "ticket_id" in differ:
                moved[article.pk] = values["ticket_id"]
                changes.tickets.add(article.ticket_id)  # the ticket it leaves
            for attname in differ:
                setattr(article, attname, values[attname])
            names.update(_NAMES[a] for a in differ)
            changed.append(article)
            changes.tickets.add(article.ticket_id)
    if not changed:
        return changes
    Article.objects.bulk_update(changed, sorted(names), batch_size=500)
    changes.updated = len(changed)
    changes.pks = {a.pk for a in changed}
    changes.history_moved = _move_history(moved)
    Ticket.objects.filter(pk__in=changes.tickets).update(version=F("version") + 1)
    return changes


def _move_history(moved: dict[int, int]) -> int:
    """The history entries naming these articles, onto the articles' new tickets."""
    entries: list[HistoryEntry] = []
    for part in chunks(list(moved)):
        for entry in HistoryEntry.objects.filter(article_id__in=part).only(
            "pk", "ticket", "article"
        ):
            assert entry.article_id is not None  # filtered on it
            if entry.ticket_id != moved[entry.article_id]:
                entry.ticket_id = moved[entry.article_id]
                entries.append(entry)
    # bulk_update: entries are append-only for everything else (their save refuses).
    HistoryEntry.objects.bulk_update(entries, ["ticket"], batch_size=500)
    return len(entries)


def held_entries(article_pks: Sequence[int]) -> dict[int, int]:
    """How many imported history entries (those carrying Znuny's type name) name
    each of these articles: one query per 500."""
    held: dict[int, int] = {}
    for part in chunks(list(article_pks)):
        held.update(
            HistoryEntry.objects.filter(article_id__in=part, data__has_key="znuny")
            .values("article_id")
            .annotate(entries=Count("pk"))
            .values_list("article_id", "entries")
        )
    return held
