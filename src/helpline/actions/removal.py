"""Removing tickets for good: deleting them, or anonymising them.

Retention (``actions.retention``) and the erasure of a person (``actions.erasure``)
remove tickets through ``delete_tickets`` and ``anonymise_tickets``.  Both work in
batches of ``BATCH`` tickets, each batch one transaction of a fixed number of
statements whatever the size of its tickets; a batch that fails is tried again one
ticket at a time, so that one bad ticket costs only itself (its error is returned).

A ticket goes with everything that is part of it: the tickets merged into it, its
articles and attachments, its history, its links (both ways), watchers and presence,
its outgoing mail (replies, and the agent notifications that quote it), the inbound
messages it was made from (and their rejected duplicates), its search entry, and
the mapping an import kept to it.  The bytes of raw mails and attachments go with
their last reference (``blobstore.release``): bytes another ticket still refers to
stay.  A ticket under legal hold is never removed, nor one whose merged part is held.

Delete: the rows are gone; the number is never given again (the counter does not go
back).  Anonymise: the ticket row stays with its number, queue, state and dates, and
its articles with their channel, sender type and dates, so reports keep counting
them; title, customer, every article's subject, body, addresses and Message-IDs, the
raw mails and the attachments are gone, history entries keep only what is not
content (``HISTORY_KEEP``), and an ``anonymised`` entry says when and why.  An
anonymised ticket threads no reply: it has no Message-IDs left, and
``mail.followup`` trusts no ticket number of it.

A customer of removed tickets is anonymised as well once no ticket refers to it (the
row stays: the read audit names customers by id).  The read audit (which names the
ticket's number) and the administration log stay.  docs/data-protection.md.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import (
    InterfaceError,
    OperationalError,
    connection,
    models,
    transaction,
)
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from helpline.actions.history import entry, record_all
from helpline.blobstore import release
from helpline.errors import HelplineError
from helpline.models import (
    Article,
    Attachment,
    AutoResponseLog,
    Customer,
    HistoryEntry,
    HistoryType,
    ImportedObject,
    ImportRun,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Presence,
    RetentionAction,
    Ticket,
    TicketLink,
    TicketServiceLevel,
    TicketWatcher,
)

log = logging.getLogger(__name__)
audit = logging.getLogger("helpline.audit")

BATCH = 200
# Blob ids handed to ``blobstore.release`` at a time.
RELEASE_CHUNK = 5000
MAX_MERGE_HOPS = 10
ANONYMISED_TITLE = "Anonymised ticket"
# An anonymised customer's address: unique, and no mailbox anywhere (RFC 2606).
ANONYMOUS_DOMAIN = "anonymised.invalid"

# What a history entry of an anonymised ticket keeps of its data, by type: what the
# system wrote (queues, states, agents' logins, other tickets' numbers, ids), never
# what came from the mail or from someone's keyboard (titles, subjects, addresses,
# reasons typed by people, an imported system's text).  A key not listed goes, so
# that a key added later is removed until someone decides it is harmless.
_ARTICLE_KEYS = frozenset({"channel", "sender"})
_OLD_NEW = frozenset({"old", "new"})
HISTORY_KEEP: dict[str, frozenset[str]] = {
    HistoryType.CREATED: frozenset({"queue", "state", "priority"}),
    HistoryType.ARTICLE: _ARTICLE_KEYS,
    HistoryType.FOLLOW_UP: _ARTICLE_KEYS,
    HistoryType.EMAIL_SENT: _ARTICLE_KEYS,
    HistoryType.AUTO_RESPONSE: _ARTICLE_KEYS,
    HistoryType.BOUNCE: _ARTICLE_KEYS,
    HistoryType.MOVED: _OLD_NEW,
    HistoryType.LOCKED: frozenset({"owner"}),
    HistoryType.UNLOCKED: frozenset({"reason"}),
    HistoryType.OWNER: _OLD_NEW | {"reason"},
    HistoryType.RESPONSIBLE: _OLD_NEW | {"reason"},
    HistoryType.PRIORITY: _OLD_NEW,
    HistoryType.STATE: _OLD_NEW,
    HistoryType.PENDING_TIME: frozenset({"until"}),
    HistoryType.MERGED: frozenset({"into", "source", "articles", "previous_state"}),
    HistoryType.UNMERGED: frozenset({"target", "source", "articles"}),
    HistoryType.SPLIT: frozenset({"new", "source"}),
    HistoryType.LINK_ADDED: frozenset({"other", "type"}),
    HistoryType.LINK_REMOVED: frozenset({"other"}),
    HistoryType.ARCHIVED: frozenset({"reason"}),
    HistoryType.UNARCHIVED: frozenset({"reason"}),
    HistoryType.WATCH: frozenset({"agent", "reason"}),
    HistoryType.UNWATCH: frozenset({"agent", "reason"}),
    HistoryType.REDACTED: frozenset({"what", "kind", "article", "attachment", "run"}),
    HistoryType.ANONYMISED: frozenset({"reason", "run"}),
    HistoryType.IMPORTED: frozenset({"znuny"}),
    # TITLE, CUSTOMER, DELIVERY_FAILED (addresses, the server's words), LEGAL_HOLD
    # and LEGAL_HOLD_RELEASED (a reason someone typed): nothing.
}

# What anonymising leaves of an article's text.
BLANK_ARTICLE: dict[str, Any] = {
    "from_addr": "",
    "to_addr": "",
    "cc_addr": "",
    "bcc_addr": "",
    "reply_to": "",
    "subject": "",
    "body_text": "",
    "body_html": "",
    "message_id": "",
    "in_reply_to": "",
    "references": "",
    "raw": None,
}


@dataclass
class Outcome:
    """What a removal did: ticket numbers and counts, never content."""

    deleted: list[str] = field(default_factory=list)
    anonymised: list[str] = field(default_factory=list)
    # Tickets merged into removed ones, removed with them.
    merged_parts: list[str] = field(default_factory=list)
    # Not removed: under legal hold, or a ticket merged into it is.
    held: list[str] = field(default_factory=list)
    # Tickets kept but changed (an erasure's other tickets).
    changed: list[str] = field(default_factory=list)
    articles: int = 0
    # Articles whose text was rewritten (an erasure's mentions).
    rewritten: int = 0
    attachments: int = 0
    # Inbound and outgoing mails removed (with their raw bytes).
    messages: int = 0
    # Stored byte strings (raw mails, attachments) no row refers to any more.
    blobs: int = 0
    customers: int = 0
    # {"tickets": [numbers], "error": "..."}: batches (or tickets) that failed.
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        for name in LISTS:
            getattr(self, name).extend(getattr(other, name))
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def removed(self) -> int:
        return len(self.deleted) + len(self.anonymised)

    def counts(self) -> dict[str, int]:
        """Every list by its length, and the counts."""
        return {
            **{name: len(getattr(self, name)) for name in LISTS},
            **{name: getattr(self, name) for name in COUNTS},
        }


LISTS = ("deleted", "anonymised", "merged_parts", "held", "changed", "errors")
COUNTS = ("articles", "rewritten", "attachments", "messages", "blobs", "customers")


@dataclass
class _Claim:
    """The tickets a batch may remove, row-locked: ``ids`` (roots and their merged
    parts), and the roots' and parts' numbers."""

    ids: list[int]
    roots: list[str]
    parts: list[str]
    held: list[str]
    customer_ids: set[int]


Batch = Callable[..., Outcome]


# --- entry points ----------------------------------------------------------------------
def delete_tickets(
    tickets: Iterable[int],
    *,
    actor: Any | None,
    reason: str,
    run: Any | None = None,
    where: Q | None = None,
) -> Outcome:
    """Delete these tickets (ids) with everything that is part of them.

    ``where``: a condition each ticket must still meet once locked (retention's "is
    due"); the others are left alone.  ``actor``, ``reason`` and ``run`` (a
    ``PrivacyRun``) go to the log line of each batch."""
    return in_batches(
        tickets, _delete_batch, actor=actor, reason=reason, run=run, where=where
    )


def anonymise_tickets(
    tickets: Iterable[int],
    *,
    actor: Any | None,
    reason: str,
    run: Any | None = None,
    where: Q | None = None,
) -> Outcome:
    """Anonymise these tickets (ids) and the tickets merged into them (see the
    module docstring for what stays); ``where`` as for ``delete_tickets``."""
    return in_batches(
        tickets, _anonymise_batch, actor=actor, reason=reason, run=run, where=where
    )


def remove_tickets(
    tickets: Iterable[int],
    *,
    action: str,
    actor: Any | None,
    reason: str,
    run: Any | None = None,
    where: Q | None = None,
) -> Outcome:
    """``delete_tickets`` or ``anonymise_tickets``, as ``action`` says."""
    if action == RetentionAction.DELETE:
        return delete_tickets(tickets, actor=actor, reason=reason, run=run, where=where)
    if action == RetentionAction.ANONYMISE:
        return anonymise_tickets(
            tickets, actor=actor, reason=reason, run=run, where=where
        )
    raise ValueError(f"unknown removal {action!r}")


@contextlib.contextmanager
def removing() -> Iterator[None]:
    """Around a run that removes data: on SQLite, deleted rows are overwritten with
    zeros (``secure_delete``), so their words do not linger in free pages of the
    file; at the end the search index forgets the removed words
    (``SearchBackend.purge_removed``) and SQLite's write-ahead log is folded into
    the database and emptied, as far as no reader holds it."""
    from helpline.search.base import get_backend

    sqlite = connection.vendor == "sqlite"
    previous = _pragma("secure_delete") if sqlite else None
    if sqlite:
        _pragma("secure_delete", 1)
    try:
        yield
    finally:
        try:
            get_backend().purge_removed()
            if (
                sqlite
                and not connection.in_atomic_block
                and _pragma("wal_checkpoint(TRUNCATE)")
            ):
                # A reader held the log: the rest is folded in by a later
                # checkpoint (SQLite's own, after 1000 pages, or the next run).
                log.warning("the write-ahead log was busy: not all of it folded in")
        finally:
            if sqlite and previous is not None:
                _pragma("secure_delete", previous)


def _pragma(name: str, value: int | None = None) -> Any:
    with connection.cursor() as cursor:
        # The name is one of this module's constants, the value an int.
        suffix = "" if value is None else f" = {int(value)}"
        cursor.execute(f"PRAGMA {name}{suffix}")
        row = cursor.fetchone()
    return row[0] if row else None


# --- batches ---------------------------------------------------------------------------
def in_batches(
    tickets: Iterable[int], batch: Batch, *, size: int | None = None, **kwargs: Any
) -> Outcome:
    """``batch(ids, **kwargs)`` for ``size`` tickets at a time, in id order, each in
    one transaction; a batch that fails is tried again one ticket at a time, and a
    ticket that fails alone is an error of the outcome (its number, the error's
    first line), not an exception."""
    outcome = Outcome()
    ordered = sorted(set(tickets))
    step = size or BATCH
    for start in range(0, len(ordered), step):
        outcome.add(_guarded(ordered[start : start + step], batch, kwargs))
    return outcome


def _guarded(ids: list[int], batch: Batch, kwargs: dict[str, Any]) -> Outcome:
    """One batch in one transaction; if it fails, each of its tickets alone."""
    try:
        with transaction.atomic():
            done = batch(ids, **kwargs)
    except (InterfaceError, OperationalError):
        raise  # the database itself is away or busy: the run stops, and is retried
    except Exception as exc:
        # Only the error's first line, here too: a database's details may quote
        # the row, which may be what is being removed.
        if len(ids) > 1:
            log.warning(
                "a removal batch failed (%s); its tickets one by one", describe(exc)
            )
            outcome = Outcome()
            for pk in ids:
                outcome.add(_guarded([pk], batch, kwargs))
            return outcome
        log.error("removing ticket %s failed: %s", ids[0], describe(exc))
        numbers = list(
            Ticket.objects.filter(pk__in=ids).values_list("number", flat=True)
        )
        return Outcome(errors=[{"tickets": numbers, "error": describe(exc)}])
    run = kwargs.get("run")
    removed = [*done.deleted, *done.anonymised]
    if removed:
        audit.info(
            "%s: %s %d ticket(s)%s (%s): %s",
            _name(kwargs.get("actor")),
            "deleted" if done.deleted else "anonymised",
            len(removed),
            f" in privacy run {run.pk}" if run is not None else "",
            kwargs.get("reason", ""),
            " ".join(removed),
        )
    return done


def describe(exc: BaseException) -> str:
    """An error for the run's record: its first line only (a database's details
    may quote the values of the row, which may be what was to be removed)."""
    text = exc.message if isinstance(exc, HelplineError) else str(exc)
    first = (text.strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:300]


def _name(actor: Any | None) -> str:
    return actor.get_username() if actor is not None else "system"


def _claim(ids: Sequence[int], where: Q | None) -> _Claim:
    """Lock the tickets (those still meeting ``where``) and the tickets merged into
    them, in id order; leave out every ticket whose family has a legal hold."""
    roots = Ticket.objects.select_for_update(of=("self",)).filter(pk__in=ids)
    if where is not None:
        roots = roots.filter(where)
    rows = {
        pk: (number, hold, customer)
        for pk, number, hold, customer in roots.order_by("pk").values_list(
            "pk", "number", "legal_hold", "customer_id"
        )
    }
    root_of = {pk: pk for pk in rows}
    frontier = list(rows)
    for _ in range(MAX_MERGE_HOPS):
        merged = list(
            Ticket.objects.filter(merged_into_id__in=frontier)
            .exclude(pk__in=list(root_of))
            .values_list("pk", "merged_into_id")
        )
        if not merged:
            break
        for pk, into in merged:
            root_of[pk] = root_of[into]
        frontier = [pk for pk, _ in merged]
    parts = [pk for pk in root_of if pk not in rows]
    if parts:
        rows.update(
            (pk, (number, hold, customer))
            for pk, number, hold, customer in Ticket.objects.select_for_update(
                of=("self",)
            )
            .filter(pk__in=parts)
            .order_by("pk")
            .values_list("pk", "number", "legal_hold", "customer_id")
        )
    held_roots = {root_of[pk] for pk, (_, hold, _) in rows.items() if hold}
    keep = [pk for pk in rows if root_of[pk] not in held_roots]
    return _Claim(
        ids=sorted(keep),
        roots=[rows[pk][0] for pk in keep if root_of[pk] == pk],
        parts=[rows[pk][0] for pk in keep if root_of[pk] != pk],
        held=sorted(rows[pk][0] for pk in held_roots),
        customer_ids={rows[pk][2] for pk in keep if rows[pk][2] is not None},
    )


# --- what belongs to tickets ------------------------------------------------------------
def outbox_of(ticket_ids: Sequence[int]) -> QuerySet[OutboxMessage]:
    """Every mail queued or sent about these tickets: their articles' and the agent
    notifications that name them."""
    return OutboxMessage.objects.filter(
        Q(ticket_id__in=ticket_ids) | Q(article__ticket_id__in=ticket_ids)
    )


def inbound_of(ticket_ids: Sequence[int]) -> QuerySet[InboundMessage]:
    """Every received message these tickets were made of, and the duplicates of
    them that were rejected (found by Message-ID)."""
    incoming = Article.objects.filter(ticket_id__in=ticket_ids, incoming=True).exclude(
        message_id=""
    )
    return InboundMessage.objects.filter(
        Q(ticket_id__in=ticket_ids)
        | Q(article__ticket_id__in=ticket_ids)
        | Q(
            ticket__isnull=True,
            status=InboundStatus.REJECTED,
            message_id__in=incoming.values("message_id"),
        )
    )


def drop_mail(
    outbox: QuerySet[OutboxMessage], inbound: QuerySet[InboundMessage]
) -> tuple[int, set[int]]:
    """Delete these mails; how many, and the blobs they referred to."""
    sent = list(outbox.values_list("pk", "raw_id"))
    received = list(inbound.values_list("pk", "raw_id"))
    if sent:
        OutboxMessage.objects.filter(pk__in=[pk for pk, _ in sent])._raw_delete(
            connection.alias
        )
    if received:
        InboundMessage.objects.filter(pk__in=[pk for pk, _ in received])._raw_delete(
            connection.alias
        )
    return len(sent) + len(received), {b for _, b in (*sent, *received)}


def drop_attachments(attachments: QuerySet[Attachment]) -> tuple[int, set[int]]:
    """Delete these attachments (and an import's mapping to them)."""
    rows = list(attachments.values_list("pk", "blob_id"))
    if rows:
        ids = [pk for pk, _ in rows]
        forget_imported(Q(kind="attachment", target_id__in=ids))
        Attachment.objects.filter(pk__in=ids)._raw_delete(connection.alias)
    return len(rows), {b for _, b in rows}


def forget_imported(condition: Q) -> None:
    """Drop an import's mappings (``ImportedObject``) that meet ``condition``: none
    may name a removed row (a legacy link would lead nowhere, or elsewhere)."""
    sources = list(ImportRun.objects.values_list("source", flat=True).distinct())
    if sources:
        ImportedObject.objects.filter(condition, source__in=sources)._raw_delete(
            connection.alias
        )


def release_blobs(blob_ids: Iterable[int]) -> int:
    """``blobstore.release`` in chunks; the number of blobs that went."""
    ids = sorted({b for b in blob_ids if b is not None})
    return sum(
        len(release(ids[start : start + RELEASE_CHUNK]))
        for start in range(0, len(ids), RELEASE_CHUNK)
    )


def forget_customers(customer_ids: Iterable[int]) -> int:
    """Anonymise the customers among these that no ticket refers to any more: the
    row stays (the read audit names customers by id), its address and name go, and
    so does the count of automatic answers sent to the address."""
    ids = [pk for pk in customer_ids if pk is not None]
    if not ids:
        return 0
    orphans = (
        Customer.objects.filter(pk__in=ids)
        .exclude(email__endswith=f"@{ANONYMOUS_DOMAIN}")
        .exclude(Exists(Ticket.objects.filter(customer_id=OuterRef("pk"))))
    )
    rows = list(orphans.values_list("pk", "email"))
    if not rows:
        return 0
    gone = [pk for pk, _ in rows]
    # How many automatic answers went to them today (the loop guard) names them too.
    AutoResponseLog.objects.filter(address__in=[e for _, e in rows])._raw_delete(
        connection.alias
    )
    Customer.objects.filter(pk__in=gone).update(
        email=Concat(
            Value("anonymised-"),
            Cast("pk", models.CharField()),
            Value(f"@{ANONYMOUS_DOMAIN}"),
        ),
        name="",
    )
    forget_imported(Q(kind="customer", target_id__in=gone))
    return len(gone)


def reindex(ticket_ids: Sequence[int]) -> None:
    """Rebuild the search entries of these tickets now, in the transaction that
    changed them (a deleted ticket's entry is dropped)."""
    from helpline.search.base import get_backend
    from helpline.search.indexer import collect_documents

    backend = get_backend()
    backend.hold_access(ticket_ids)
    backend.replace(
        ticket_ids, collect_documents(ticket_ids, access=backend.indexes_access)
    )


class JsonWithout(models.Func):
    """A JSON object without some of its keys (SQLite ``json_remove``, PostgreSQL
    ``jsonb - text[]``)."""

    output_field = models.JSONField()

    def __init__(self, expression: Any, keys: Sequence[str]) -> None:
        super().__init__(expression)
        self.keys = list(keys)

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"({sql} - %s::text[])", [*params, self.keys]
        paths = ", ".join(["%s"] * len(self.keys))
        return f"json_remove({sql}, {paths})", [
            *params,
            *(f'$."{key}"' for key in self.keys),
        ]


def scrub_history(entries: QuerySet[HistoryEntry]) -> None:
    """Leave these entries only the keys ``HISTORY_KEEP`` lists for their type: one
    statement to read which keys they have, one to drop the others."""
    drop: dict[str, set[str]] = {}
    for type_, data in entries.values_list("type", "data"):
        extra = set(data or {}) - HISTORY_KEEP.get(type_, frozenset())
        if extra:
            drop.setdefault(type_, set()).update(extra)
    if not drop:
        return
    entries.filter(type__in=list(drop)).update(
        data=Case(
            *(
                When(type=type_, then=JsonWithout(F("data"), sorted(keys)))
                for type_, keys in sorted(drop.items())
            ),
            default=F("data"),
            output_field=models.JSONField(),
        )
    )


# --- one batch ---------------------------------------------------------------------------
def _drop_mail_and_files(
    found: list[int], outcome: Outcome
) -> tuple[QuerySet[Article], list[tuple[int, int]], set[int]]:
    """What deleting and anonymising both do first: the tickets' mail in and out and
    their attachments go (counted in ``outcome``); returns their articles, the
    articles' (id, raw blob) and every blob they held, to release at the end."""
    articles = Article.objects.filter(ticket_id__in=found)
    article_rows = list(articles.values_list("pk", "raw_id"))
    outcome.messages, blobs = drop_mail(outbox_of(found), inbound_of(found))
    blobs.update(raw for _, raw in article_rows)
    outcome.attachments, files = drop_attachments(
        Attachment.objects.filter(article__ticket_id__in=found)
    )
    blobs |= files
    return articles, article_rows, blobs


def _delete_batch(
    ids: list[int], *, actor: Any | None, reason: str, run: Any, where: Q | None
) -> Outcome:
    claim = _claim(ids, where)
    outcome = Outcome(held=claim.held)
    found = claim.ids
    if not found:
        return outcome
    articles, article_rows, blobs = _drop_mail_and_files(found, outcome)
    # What other tickets keep pointing at: their history at our articles (a split),
    # their articles at a ticket they were merged from.
    HistoryEntry.objects.filter(article__ticket_id__in=found).exclude(
        ticket_id__in=found
    ).update(article=None)
    Article.objects.filter(merged_from_id__in=found).exclude(
        ticket_id__in=found
    ).update(merged_from=None)
    HistoryEntry.objects.filter(ticket_id__in=found)._raw_delete(connection.alias)
    forget_imported(
        Q(kind="ticket", target_id__in=found)
        | Q(kind="article", target_id__in=[pk for pk, _ in article_rows])
    )
    articles._raw_delete(connection.alias)
    TicketLink.objects.filter(
        Q(source_id__in=found) | Q(target_id__in=found)
    )._raw_delete(connection.alias)
    TicketWatcher.objects.filter(ticket_id__in=found)._raw_delete(connection.alias)
    Presence.objects.filter(ticket_id__in=found)._raw_delete(connection.alias)
    TicketServiceLevel.objects.filter(ticket_id__in=found)._raw_delete(connection.alias)
    Ticket.objects.filter(pk__in=found)._raw_delete(connection.alias)
    reindex(found)
    outcome.customers = forget_customers(claim.customer_ids)
    outcome.blobs = release_blobs(blobs)
    outcome.deleted, outcome.merged_parts = claim.roots, claim.parts
    outcome.articles = len(article_rows)
    return outcome


def _anonymise_batch(
    ids: list[int], *, actor: Any | None, reason: str, run: Any, where: Q | None
) -> Outcome:
    claim = _claim(ids, where)
    outcome = Outcome(held=claim.held)
    found = claim.ids
    if not found:
        return outcome
    articles, article_rows, blobs = _drop_mail_and_files(found, outcome)
    articles.update(**BLANK_ARTICLE)
    history = HistoryEntry.objects.filter(ticket_id__in=found)
    scrub_history(history)
    now = timezone.now()
    Ticket.objects.filter(pk__in=found).update(
        title=ANONYMISED_TITLE,
        customer=None,
        anonymised=now,
        version=F("version") + 1,
    )
    data = {"reason": reason, **({"run": run.pk} if run is not None else {})}
    record_all(
        [entry(Ticket(pk=pk), HistoryType.ANONYMISED, actor, **data) for pk in found]
    )
    reindex(found)
    outcome.customers = forget_customers(claim.customer_ids)
    outcome.blobs = release_blobs(blobs)
    outcome.anonymised, outcome.merged_parts = claim.roots, claim.parts
    outcome.articles = len(article_rows)
    return outcome


# --- single articles ---------------------------------------------------------------------
def delete_articles(
    articles: Iterable[int], *, actor: Any | None, reason: str
) -> Outcome:
    """Delete these articles (ids) of tickets that stay, with what is part of them:
    their attachments, raw mail, the mail in and out made of them, and the history
    entries an import brought for them (Helpline's own entries naming one keep their
    text and lose the link).  An article of a ticket under legal hold stays (its
    ticket's number in ``held``).  A batch of tickets at a time, like the tickets;
    ``changed`` lists the tickets that lost an article.  The import of a source
    that deleted an article uses it (``importers.znuny``)."""
    wanted = sorted({int(pk) for pk in articles})
    by_ticket: dict[int, list[int]] = {}
    for part in range(0, len(wanted), RELEASE_CHUNK):
        for pk, ticket in Article.objects.filter(
            pk__in=wanted[part : part + RELEASE_CHUNK]
        ).values_list("pk", "ticket_id"):
            by_ticket.setdefault(ticket, []).append(pk)
    return in_batches(
        by_ticket,
        _delete_articles_batch,
        actor=actor,
        reason=reason,
        run=None,
        where=None,
        articles=by_ticket,
    )


def _delete_articles_batch(
    ids: list[int],
    *,
    actor: Any | None,
    reason: str,
    run: Any,
    where: Q | None,
    articles: dict[int, list[int]],
) -> Outcome:
    tickets = dict(
        Ticket.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "legal_hold")
    )
    outcome = Outcome(
        held=list(
            Ticket.objects.filter(
                pk__in=[pk for pk, hold in tickets.items() if hold]
            ).values_list("number", flat=True)
        )
    )
    found = [pk for pk, hold in tickets.items() if not hold]
    pks = [a for t in found for a in articles.get(t, ())]
    if not pks:
        return outcome
    rows = list(
        Article.objects.filter(pk__in=pks, ticket_id__in=found).values_list(
            "pk", "raw_id"
        )
    )
    pks = [pk for pk, _ in rows]
    outcome.messages, blobs = drop_mail(
        OutboxMessage.objects.filter(article_id__in=pks),
        InboundMessage.objects.filter(article_id__in=pks),
    )
    blobs.update(raw for _, raw in rows)
    outcome.attachments, files = drop_attachments(
        Attachment.objects.filter(article_id__in=pks)
    )
    blobs |= files
    named = HistoryEntry.objects.filter(article_id__in=pks)
    named.filter(data__has_key="znuny")._raw_delete(connection.alias)
    named.update(article=None)
    forget_imported(Q(kind="article", target_id__in=pks))
    Article.objects.filter(pk__in=pks)._raw_delete(connection.alias)
    gone = set(pks)
    changed = sorted(t for t in found if gone & set(articles.get(t, ())))
    Ticket.objects.filter(pk__in=changed).update(version=F("version") + 1)
    reindex(changed)
    outcome.blobs = release_blobs(blobs)
    outcome.articles = len(pks)
    outcome.changed = list(
        Ticket.objects.filter(pk__in=changed).values_list("number", flat=True)
    )
    audit.info(
        "%s: deleted %d article(s) of ticket(s) %s (%s)",
        _name(actor),
        len(pks),
        " ".join(outcome.changed),
        reason,
    )
    return outcome
