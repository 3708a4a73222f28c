"""Tickets with their numbers, articles, attachments, raw mail, history, watchers,
links and merges.

The ``tickets`` phase works in batches of ``BATCH`` tickets; each batch is one
transaction holding the tickets, their new articles, attachments and history, their
watchers, their search-index entries and the mapping rows that record all of it, so a
run killed at any point is re-run without duplicates.  One query per source table per
batch.  A re-run reads only the tickets changed since the last finished run (their
``change_time``, an article's ``change_time``, or a newer article or history row:
Znuny writes a history row for every change, watchers and links included) and, of
those, brings the articles and history rows not imported yet and makes the articles
imported before what the source has now, a merge's moves included
(``tickets_articles``), their raw mail and attachments too where Znuny wrote them
anew (``art.Stale``, ``Batch._reread``).  What Znuny deleted is deleted by the next
phase (``tickets_deleted``).  A ticket anonymised and an article redacted in Helpline
keep what Helpline made of them.  The mapping rows a batch needs are looked up by its
own keys and let go of after it (``state.PER_BATCH``): what a batch costs does not
grow with what earlier batches or runs imported.

Mapping kinds written here: ``ticket`` (stamp: the source's ``change_time``; cursor
``{"history": highest history id imported, "articles": newest change time of its
articles' ``article`` and ``article_data_mime`` rows}``), ``article`` (stamp: its
``article_data_mime.change_time``; cursor ``{"plain": its raw-mail row id,
"files_max": its highest attachment row id, "files": how many}``: ``art.Stale``;
``"admin"`` on an agent is ``org_permissions``'s),
``attachment`` (row id, or ``<article_id>/<filename>`` from the article directory),
``link`` (``<source>-<target>-<type name>`` of ``link_relation``).  History rows have
no mapping rows of their own (the ticket's cursor); watchers are the source's current
set, made equal for every ticket read.
"""

from __future__ import annotations

import copy
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from helpline.actions.customers import customer_address
from helpline.errors import HelplineError
from helpline.importers.znuny import articles as art
from helpline.importers.znuny import tickets_articles as ta
from helpline.importers.znuny import tickets_history as hist
from helpline.importers.znuny.runner import Context, Phase
from helpline.importers.znuny.source import Source
from helpline.importers.znuny.tickets_copy import (
    deferred_search_indexes,
    fast,
    insert_history,
    insert_models,
    reserve_ids,
)
from helpline.importers.znuny.tickets_deleted import import_deletions
from helpline.importers.znuny.tickets_links import import_links
from helpline.models import (
    Article,
    Attachment,
    Customer,
    HistoryEntry,
    HistoryType,
    StateType,
    Ticket,
    TicketState,
    TicketWatcher,
)

log = logging.getLogger(__name__)

BATCH = 500
BATCH_KINDS = ("ticket", "article", "attachment", "customer")
ROOT_USER = 1  # Znuny's admin@localhost: owner of every ticket nobody took
LOCKED = {"lock", "tmp_lock"}
# Tickets skipped by a run are read again by the next one (its marks'
# "retry_tickets"), up to this many; beyond it only a --full run brings them.
MAX_RETRY = 10_000

TICKET_SQL = """
SELECT t.id, t.tn, t.title, t.queue_id, t.ticket_state_id, t.ticket_priority_id,
       t.user_id, t.responsible_user_id, t.customer_user_id, t.until_time, t.timeout,
       t.archive_flag, t.create_time, t.change_time, lt.name AS lock_name
FROM ticket t
JOIN ticket_lock_type lt ON lt.id = t.ticket_lock_id
WHERE t.id IN ({})
ORDER BY t.id
"""
TICKET_FIELDS = [
    "number",
    "title",
    "queue_id",
    "state_id",
    "state_type",
    "priority",
    "locked",
    "locked_at",
    "owner_id",
    "responsible_id",
    "customer_id",
    "pending_until",
    "created",
    "changed",
    "closed_at",
    "archived",
]


def ticket_ids(ctx: Context) -> list[int]:
    """The source tickets this run reads: all, or, after a finished run, those new or
    changed since (one query per source table; a ticket re-read only because it lies
    within ``CHANGE_MARGIN`` and whose ``change_time`` is the one imported is left
    out, by its mapping row, a batch of keys at a time)."""
    source = ctx.source
    since = ctx.changed_since()
    if since is None:
        return [int(r["id"]) for r in source.rows("SELECT id FROM ticket ORDER BY id")]
    prev = ctx.previous
    stamps = {
        int(r["id"]): _iso(r["change_time"])
        for r in source.rows(
            "SELECT id, change_time FROM ticket WHERE change_time >= %s OR id > %s",
            (since, prev.get("ticket_id") or 0),
        )
    }
    fresh = {
        int(r["ticket_id"])
        for r in source.rows(
            "SELECT DISTINCT ticket_id FROM article WHERE id > %s",
            (prev.get("article_id") or 0,),
        )
    }
    fresh.update(
        int(r["ticket_id"])
        for r in source.rows(
            "SELECT DISTINCT ticket_id FROM ticket_history WHERE id > %s",
            (prev.get("history_id") or 0,),
        )
    )
    fresh.update(_files_written(source, prev))
    # Skipped last time (their marks moved past them): tried again.
    fresh.update(int(tid) for tid in prev.get("retry_tickets") or ())
    touched = _articles_changed(source, since)
    candidates = sorted((stamps.keys() | touched.keys()) - fresh)
    unchanged: set[int] = set()
    for part in art.chunks(candidates):
        ctx.mapping.load("ticket", part)
        for tid in part:
            entry = ctx.mapping.get("ticket", tid)
            if entry is None or not entry.target_id:
                continue
            if tid in stamps and entry.stamp != stamps[tid]:
                continue
            if tid in touched and entry.cursor.get("articles") != touched[tid]:
                continue
            unchanged.add(tid)
        ctx.mapping.drop("ticket")
    ctx.report["ticket"].unchanged += len(unchanged)
    return sorted((stamps.keys() | touched.keys() | fresh) - unchanged)


def _articles_changed(source: Source, since: datetime) -> dict[int, str]:
    """Tickets with an article changed at or after ``since``, with the newest such
    change.  An article changed in place leaves its ticket's change_time alone but
    not its own: ``ArticleUpdate`` of its visibility or sender type and a merge
    moving it set ``article.change_time``; ``ArticleUpdate`` of a header or the body
    (and so the decryption of a PGP or S/MIME mail) sets
    ``article_data_mime.change_time``.  Such a ticket is read again unless its
    newest article change is the one imported (the ticket mapping's cursor
    "articles").  One scan of ``article``, whose rows are narrow, and one of
    ``article_data_mime`` (no index on its change time: the bodies of a large site
    are most of what this reads, see docs/migrating-from-znuny.md#timings)."""
    found: dict[int, Any] = {}
    for sql in (
        "SELECT ticket_id, MAX(change_time) AS changed FROM article "
        "WHERE change_time >= %s GROUP BY ticket_id",
        "SELECT a.ticket_id, MAX(m.change_time) AS changed FROM article_data_mime m "
        "JOIN article a ON a.id = m.article_id WHERE m.change_time >= %s "
        "GROUP BY a.ticket_id",
    ):
        for r in source.rows(sql, (since,)):
            tid = int(r["ticket_id"])
            found[tid] = art.newest(found.get(tid), r["changed"])
    return {tid: _iso(when) for tid, when in found.items()}


def _files_written(source: Source, previous: dict[str, Any]) -> set[int]:
    """Tickets with an attachment or raw-mail row written since the last run (Znuny
    never updates those rows: it deletes them and writes new ones, with new ids).
    By id, on the primary keys; a run before these marks were kept gives none."""
    found: set[int] = set()
    for table, mark in (
        ("article_data_mime_attachment", "attachment_id"),
        ("article_data_mime_plain", "plain_id"),
    ):
        if previous.get(mark) is None:
            continue
        found.update(
            int(r["ticket_id"])
            for r in source.rows(
                f"SELECT DISTINCT a.ticket_id FROM {table} x "  # noqa: S608 - constants
                "JOIN article a ON a.id = x.article_id WHERE x.id > %s",
                (previous[mark],),
            )
        )
    return found


def import_tickets(ctx: Context) -> None:
    ids = ticket_ids(ctx)
    for kind, table in (
        ("ticket", "ticket"),
        ("article", "article"),
        ("raw_mail", "article_data_mime_plain"),
        ("history", "ticket_history"),
    ):
        ctx.report[kind].source = ctx.source.count(table)
    ctx.report["attachment"].source = _attachment_count(ctx)
    # A dry run's states are those its organisation phases left (rolled back since).
    states = ctx.shared.get("states") or dict(
        TicketState.objects.values_list("pk", "type")
    )
    ctx.progress.start("tickets", len(ids))
    batches = [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]
    # The next batch is read from the source on a thread while this one is written
    # (the source's driver waits on the network with the GIL released): the thread
    # only reads the source, the main thread only writes Helpline, and the source is
    # used by one of them at a time (``Prefetch``).
    retry: set[int] = ctx.shared.setdefault("retry_tickets", set())
    with (
        _unflushed_commits(),
        deferred_search_indexes(len(ids), dry_run=ctx.dry_run),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="znuny-read") as pool,
    ):
        prefetch = Prefetch(ctx, pool)
        pending = prefetch.start(batches[0]) if batches else None
        for number, batch in enumerate(batches):
            loaded = _result(ctx, pending)
            following = batches[number + 1] if number + 1 < len(batches) else None
            if loaded is None:  # read again by the batch, the source to itself
                Batch(ctx, states).run(batch)
                pending = prefetch.start(following) if following else None
            else:
                pending = prefetch.start(following) if following else None
                Batch(ctx, states, loaded=loaded, settle=pending).run(batch)
            for kind in BATCH_KINDS:  # what a batch looked up is not needed again
                ctx.mapping.drop(kind)
            ctx.progress.advance(len(batch))
    if retry:
        if len(retry) > MAX_RETRY:
            log.warning(
                "znuny: %s tickets skipped, the next run tries %s of them again",
                len(retry),
                MAX_RETRY,
            )
        ctx.marks["retry_tickets"] = sorted(retry)[:MAX_RETRY]


def _result(ctx: Context, pending: Future[Loaded] | None) -> Loaded | None:
    """A batch read ahead, or None if reading it failed (the batch reads its tickets
    again, one at a time if need be, and skips only those that cannot be read)."""
    if pending is None:
        return None
    try:
        return pending.result()
    except HelplineError:
        raise
    except Exception as exc:
        log.warning("znuny: reading a batch ahead failed: %s", exc)
        ctx.source.recover()
        return None


@contextmanager
def _unflushed_commits() -> Iterator[None]:
    """PostgreSQL: the batches' commits do not wait for their WAL to reach the disk
    (``synchronous_commit = off``, this session only).  A killed import loses nothing
    by it; a crash of the database server may lose the last batches, with the mapping
    rows that record them (same transactions): the next run brings them again."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


@dataclass
class Loaded:
    """What a batch reads from the source."""

    rows: list[dict[str, Any]]
    articles: art.TicketArticles
    history: list[dict[str, Any]]  # every row of the tickets (``hist.unimported``)
    watchers: list[dict[str, Any]]


def plan(ctx: Context, ids: Sequence[int]) -> dict[int, art.Recorded]:
    """What a batch's reading needs from the mapping (main thread): which of its
    tickets' articles were imported already, with their stamps and cursors."""
    found = [
        int(r["id"])
        for part in art.chunks(ids)
        for r in ctx.source.rows(
            f"SELECT id FROM article WHERE ticket_id IN ({art.placeholders(part)})",  # noqa: S608
            part,
        )
    ]
    ctx.mapping.load("article", found)
    return {
        a: art.Recorded(entry.stamp, dict(entry.cursor))
        for a in found
        if (entry := ctx.mapping.get("article", a)) is not None
    }


def fetch(
    source: Source,
    ids: Sequence[int],
    known: dict[int, art.Recorded],
    marks: dict[str, Any] | None = None,
) -> Loaded:
    """A batch's rows from the source alone (safe on the reading thread)."""
    return Loaded(
        rows=source.all(TICKET_SQL.format(art.placeholders(ids)), ids),
        articles=art.read_articles(
            source, ids, lambda found: known, art.Stale(known, dict(marks or {}))
        ),
        history=hist.read_history(source, ids),
        watchers=source.all(
            "SELECT ticket_id, user_id FROM ticket_watcher "  # noqa: S608
            f"WHERE ticket_id IN ({art.placeholders(ids)})",
            ids,
        ),
    )


class Prefetch:
    """Reads batches on a thread, one at a time: the main thread asks the mapping
    (``plan``) while the thread is idle, then hands it the source until the result
    is taken."""

    def __init__(self, ctx: Context, pool: ThreadPoolExecutor) -> None:
        self.ctx = ctx
        self.pool = pool

    def start(self, ids: Sequence[int]) -> Future[Loaded] | None:
        """The batch's reading under way, or None if it failed before (``_result``)."""
        try:
            known = plan(self.ctx, ids)
        except HelplineError:
            raise
        except Exception as exc:
            log.warning("znuny: planning a batch failed: %s", exc)
            self.ctx.source.recover()
            return None
        return self.pool.submit(fetch, self.ctx.source, ids, known, self.ctx.previous)


def _attachment_count(ctx: Context) -> int:
    count = ctx.source.count("article_data_mime_attachment")
    if ctx.source.article_dir is None:
        return count
    from helpline.importers.znuny.verify import fs_attachments

    return count + sum(1 for _ in fs_attachments(ctx.source))


class Batch:
    """One batch of source tickets, written in one transaction."""

    def __init__(
        self,
        ctx: Context,
        states: dict[int, str],
        *,
        loaded: Loaded | None = None,
        settle: Future[Loaded] | None = None,
    ) -> None:
        self.ctx = ctx
        self.loaded = loaded  # read ahead (``Prefetch``), or read by ``run``
        # The next batch's reading, under way on the thread: done before this one
        # uses the source again (one ticket at a time, after a failure).
        self.settle = settle
        self.source = ctx.source
        self.mapping = ctx.mapping
        self.report = ctx.report
        self.states = states
        self.pks: dict[int, int] = {}  # source ticket id -> Helpline ticket pk
        self.articles: dict[int, int] = {}  # source article id -> Helpline pk
        # Tickets outside the batch whose articles it changed (they moved away).
        self.reindex: set[int] = set()
        # Imported articles written again by the batch (counted once).
        self.updated_articles: set[int] = set()
        self.retry: set[int] = ctx.shared.setdefault("retry_tickets", set())
        # PostgreSQL: new tickets with their ids drawn, written after their
        # articles, with their search entries (``tickets_search``), and those pks.
        self.held: list[Ticket] = []
        self.indexed: set[int] = set()

    # --- look-ups --------------------------------------------------------------------
    def agent(self, user_id: int | None) -> int | None:
        if user_id is None:
            return None
        return self.mapping.target("agent", user_id)

    def article_pk(self, article_id: int) -> int | None:
        return self.articles.get(article_id) or self.mapping.target(
            "article", article_id
        )

    # --- the batch -------------------------------------------------------------------
    def run(self, ids: Sequence[int]) -> None:
        # The counts as they were: a failed attempt's are not true (it rolled back).
        kinds, retry = copy.deepcopy(self.report.kinds), set(self.retry)
        try:
            loaded = self.loaded
            if loaded is None:
                loaded = fetch(self.source, ids, plan(self.ctx, ids), self.ctx.previous)
            self.mapping.load("ticket", ids)
            with transaction.atomic():
                self._write(
                    loaded.rows, loaded.articles, loaded.history, loaded.watchers
                )
                if self.ctx.dry_run:  # each batch rolled back (``runner._dry_run``)
                    transaction.set_rollback(True)
        except HelplineError:
            raise
        except Exception as exc:  # one bad row must not cost the run: one by one
            # What the failed attempt recorded is not true any more.
            self.mapping.reset()
            self.report.kinds = kinds
            self.retry.clear()
            self.retry.update(retry)
            log.warning("znuny tickets %s..%s: %s", ids[0], ids[-1], exc)
            if self.settle is not None:  # the source is ours again
                wait([self.settle])
            self.source.recover()
            if len(ids) == 1:
                self._skip(ids[0], f"cannot be imported: {exc}")
                log.exception("znuny ticket %s", ids[0])
                return
            for tid in ids:
                Batch(self.ctx, self.states).run([tid])

    def _skip(self, tid: int, reason: str) -> None:
        """A ticket not imported: reported, and tried again by the next run."""
        self.report.skip("ticket", tid, reason)
        self.retry.add(tid)

    def _time(self, value: Any, kind: str, key: object, what: str) -> datetime | None:
        """A source time, or None (reported) if it is none."""
        try:
            return self.source.when(value)
        except ValueError:
            self.report.problem(kind, key, f"unreadable {what}: left out")
            return None

    def _write(
        self,
        rows: list[dict[str, Any]],
        articles: art.TicketArticles,
        history: list[dict[str, Any]],
        watchers: list[dict[str, Any]],
    ) -> None:
        # Every article of the tickets, the imported ones too: a fresh import's first.
        first_from: dict[int, Any] = {}
        for article in sorted([*articles.new, *articles.imported], key=lambda a: a.id):
            first_from.setdefault(article.ticket_id, article.mime.get("a_from"))
        self._tickets(rows, first_from)
        written = self._articles(articles.new)
        self._insert_held(written, watchers, articles.imported)
        self._imported_articles(articles.imported)  # before the history: moves it
        self._reread(articles.imported)
        new_rows = self._unimported(history)
        self.mapping.load(
            "article", [row["article_id"] for row in new_rows if row["article_id"]]
        )
        entries = hist.history_rows(
            self.source,
            new_rows,
            ticket_of=self.pks.get,
            article_of=self.article_pk,
            agent_of=self.agent,
            problem=self.report.problem,
        )
        insert_history(entries)
        self.report["history"].imported += len(entries)
        self._watchers(watchers)
        self.mapping.remember_many(
            "ticket",
            [
                (tid, pk, _iso(row["change_time"]), cursor, "")
                for row, cursor in zip(
                    rows, _cursors(rows, articles, history, self._cursor), strict=True
                )
                if (pk := self.pks.get(tid := int(row["id"]))) is not None
            ],
        )
        self._index(
            [pk for pk in self.pks.values() if pk not in self.indexed]
            + list(self.reindex)
        )

    def _cursor(self, tid: int) -> int:
        entry = self.mapping.get("ticket", tid)
        return int(entry.cursor.get("history", 0)) if entry else 0

    # --- tickets ---------------------------------------------------------------------
    def _tickets(self, rows: list[dict[str, Any]], first_from: dict[int, Any]) -> None:
        customers = self._customers(rows, first_from)
        new: list[tuple[int, Ticket]] = []
        changed: list[Ticket] = []
        anonymised = self._anonymised(rows)
        for row in rows:
            tid = int(row["id"])
            entry = self.mapping.get("ticket", tid)
            if entry is not None and entry.target_id in anonymised:
                # Its content is gone on purpose: Znuny's must not come back.
                self.report.skip("ticket", tid, "anonymised in Helpline: not updated")
                continue
            fields = self._fields(row, customers.get(tid))
            if fields is None:
                continue
            if entry is not None and entry.target_id is not None:
                self.pks[tid] = entry.target_id
                if entry.stamp == _iso(row["change_time"]):
                    self.report["ticket"].unchanged += 1
                    continue
                ticket = Ticket(pk=entry.target_id, version=F("version") + 1, **fields)
                changed.append(ticket)
                continue
            new.append((tid, Ticket(**fields)))
        self._skip_taken_numbers(new)
        if new and fast():  # written after their articles: ``_insert_held``
            self.held = [t for _, t in new]
            reserve_ids(self.held)
        elif new and connection.features.can_return_rows_from_bulk_insert:
            Ticket.objects.bulk_create([t for _, t in new], batch_size=500)
        else:
            for _, ticket in new:
                ticket.save(force_insert=True)
        for tid, ticket in new:
            self.pks[tid] = ticket.pk
        self.report["ticket"].imported += len(new)
        if changed:
            Ticket.objects.bulk_update(
                changed, [*TICKET_FIELDS, "version"], batch_size=500
            )
            self.report["ticket"].updated += len(changed)

    def _anonymised(self, rows: list[dict[str, Any]]) -> set[int]:
        """Which of the batch's imported tickets were anonymised in Helpline
        (retention, an erasure): a run leaves them and everything in them alone."""
        pks = [
            entry.target_id
            for row in rows
            if (entry := self.mapping.get("ticket", int(row["id"]))) is not None
            and entry.target_id is not None
        ]
        if not pks:
            return set()
        return set(
            Ticket.objects.filter(pk__in=pks, anonymised__isnull=False).values_list(
                "pk", flat=True
            )
        )

    def _skip_taken_numbers(self, new: list[tuple[int, Ticket]]) -> None:
        numbers = [t.number for _, t in new]
        taken = set(
            Ticket.objects.filter(number__in=numbers).values_list("number", flat=True)
        )
        if not taken:
            return
        for tid, ticket in list(new):
            if ticket.number in taken:
                self._skip(tid, "its number is taken by a ticket made in Helpline")
                new.remove((tid, ticket))

    def _fields(
        self, row: dict[str, Any], customer: int | None
    ) -> dict[str, Any] | None:
        tid = int(row["id"])
        queue = self.mapping.target("queue", row["queue_id"])
        state = self.mapping.target("state", row["ticket_state_id"])
        if queue is None or state is None or state not in self.states:
            what = "queue" if queue is None else "state"
            self._skip(tid, f"its {what} was not imported")
            return None
        priority = self.mapping.target("priority", row["ticket_priority_id"])
        if priority is None:
            self.report.problem("ticket", tid, "unknown priority: normal")
            priority = 3
        state_type = self.states[state]
        locked = str(row["lock_name"]) in LOCKED
        changed = self._time(row["change_time"], "ticket", tid, "change time")
        return {
            "number": self.source.text(row["tn"]),
            "title": self.source.text(row["title"])[:255],
            "queue_id": queue,
            "state_id": state,
            "state_type": state_type,
            "priority": priority,
            "locked": locked,
            "locked_at": self._epoch(row["timeout"], tid, "lock time")
            if locked
            else None,
            "owner_id": self._person(row["user_id"], tid),
            "responsible_id": self._person(row["responsible_user_id"], tid),
            "customer_id": customer,
            "pending_until": self._epoch(row["until_time"], tid, "pending time"),
            "created": self._time(row["create_time"], "ticket", tid, "create time")
            or hist.NO_TIME,
            "changed": changed or hist.NO_TIME,
            "closed_at": changed if state_type == StateType.CLOSED else None,
            "archived": bool(row["archive_flag"]),
        }

    def _epoch(self, value: Any, tid: int, what: str) -> datetime | None:
        try:
            return _epoch(value)
        except (ValueError, OverflowError, OSError):
            self.report.problem("ticket", tid, f"unreadable {what}: left out")
            return None

    def _person(self, user_id: int | None, tid: int) -> int | None:
        """Owner or responsible; Znuny's admin (user 1) means nobody in particular."""
        if not user_id or int(user_id) == ROOT_USER:
            return None
        pk = self.agent(int(user_id))
        if pk is None:
            self.report.problem("ticket", tid, f"agent {user_id} was not imported")
        return pk

    def _customers(
        self, rows: list[dict[str, Any]], first_from: dict[int, Any]
    ) -> dict[int, int]:
        """The customer of each ticket: the imported customer user, else the address
        Znuny kept as its customer, else the sender of its first article."""
        found: dict[int, int] = {}
        wanted: dict[int, tuple[str, str]] = {}
        self.mapping.load(
            "customer",
            {self.source.text(row["customer_user_id"]).strip() for row in rows},
        )
        for row in rows:
            tid = int(row["id"])
            login = self.source.text(row["customer_user_id"]).strip()
            if login and (pk := self.mapping.target("customer", login)) is not None:
                found[tid] = pk
                continue
            candidates = [("", login)] if "@" in login else []
            candidates += getaddresses([self.source.text(first_from.get(tid))])
            for name, address in candidates:
                try:
                    email = customer_address(address)
                except HelplineError:
                    continue
                if email:
                    wanted[tid] = (email, name)
                    break
        if wanted:
            emails = {email for email, _ in wanted.values()}
            known = dict(
                Customer.objects.filter(email__in=emails).values_list("email", "pk")
            )
            names = {email: name for email, name in wanted.values()}
            missing = [
                Customer(email=e, name=names[e][:200]) for e in emails if e not in known
            ]
            if missing:
                Customer.objects.bulk_create(missing, ignore_conflicts=True)
                known.update(
                    Customer.objects.filter(
                        email__in=[c.email for c in missing]
                    ).values_list("email", "pk")
                )
            for tid, (email, _) in wanted.items():
                found[tid] = known[email]
        return found

    # --- articles --------------------------------------------------------------------
    def _articles(
        self, articles: list[art.SourceArticle]
    ) -> tuple[list[Article], list[Attachment]]:
        """The batch's new articles with their attachments, written; returned."""
        articles = [a for a in articles if a.ticket_id in self.pks]
        if not articles:
            return [], []
        for article in articles:
            for kind, key, reason in article.problems:
                self.report.problem(kind, key, reason)
        blobs = art.store_blobs(art.article_files(articles))
        rows = [self._article(a, blobs) for a in articles]
        insert_models(rows)
        attachments: list[Attachment] = []
        keys: list[str] = []
        for source_article, row in zip(articles, rows, strict=True):
            self.articles[source_article.id] = row.pk
            for item in source_article.attachments:
                attachments.append(_attachment(row.pk, item, blobs))
                keys.append(item.key)
        insert_models(attachments)
        # Articles not imported yet (read_articles) and their attachments, mapped in
        # the same transaction as the article: new keys, not looked up again.
        self.mapping.remember_many(
            "article",
            [
                (a.id, row.pk, art.stamp(a), a.files, "")
                for a, row in zip(articles, rows, strict=True)
            ],
            fresh=True,
        )
        self.mapping.remember_many(
            "attachment",
            [(key, a.pk, "", {}, "") for key, a in zip(keys, attachments, strict=True)],
            fresh=True,
        )
        self.report["article"].imported += len(rows)
        self.report["attachment"].imported += len(attachments)
        self.report["raw_mail"].imported += sum(
            1 for a in articles if a.raw is not None
        )
        return rows, attachments

    def _insert_held(
        self,
        written: tuple[list[Article], list[Attachment]],
        watchers: list[dict[str, Any]],
        imported: list[art.SourceArticle],
    ) -> None:
        """The new tickets held back by ``_tickets`` (PostgreSQL), written now with
        their search entries (``tickets_search``).  One that gained an imported
        article (a merge moved it there) is indexed again at the end."""
        if not self.held:
            return
        from helpline.importers.znuny.tickets_search import insert_with_entries

        wanted = set()
        for row in watchers:
            ticket = self.pks.get(int(row["ticket_id"]))
            agent = self.agent(int(row["user_id"]))
            if ticket is not None and agent is not None:
                wanted.add((ticket, agent))
        insert_with_entries(self.held, *written, wanted)
        again = {self.pks.get(a.ticket_id) for a in imported}
        self.indexed = {t.pk for t in self.held} - again
        self.held = []

    def _article(self, article: art.SourceArticle, blobs: dict[str, Any]) -> Article:
        return Article(
            ticket_id=self.pks[article.ticket_id],
            body_html=art.html_body(article),
            raw=blobs[article.raw_sha256] if article.raw_sha256 is not None else None,
            **art.fields(
                self.source, article, agent_of=self.agent, problem=self.report.problem
            ),
        )

    def _imported_articles(self, articles: list[art.SourceArticle]) -> None:
        """The articles of the batch's tickets that an earlier run imported, made
        what the source has now (``tickets_articles``)."""
        self.mapping.load("article", [a.id for a in articles])
        wanted: dict[int, dict[str, Any]] = {}
        for article in articles:
            pk = self.mapping.target("article", article.id)
            ticket = self.pks.get(article.ticket_id)
            if pk is None or ticket is None:  # a ticket skipped: reported
                continue
            # Its problems were reported when it was imported.
            wanted[pk] = {
                "ticket_id": ticket,
                **art.fields(
                    self.source,
                    article,
                    agent_of=self.agent,
                    problem=lambda _kind, _key, _reason: None,
                ),
            }
        changes = ta.update_imported(wanted, keep=self._redacted(list(wanted)))
        self.report["article"].updated += changes.updated
        self.updated_articles |= changes.pks
        self.report["history"].updated += changes.history_moved
        self.reindex.update(changes.tickets)

    def _redacted(self, pks: list[int]) -> set[int]:
        """Which of these imported articles were redacted in Helpline: their content
        is not made Znuny's again (docs/data-protection.md)."""
        found: set[int] = set()
        for part in art.chunks(pks):
            found.update(
                HistoryEntry.objects.filter(
                    type=HistoryType.REDACTED, article_id__in=part
                ).values_list("article_id", flat=True)
            )
        return {pk for pk in found if pk is not None}

    def _reread(self, articles: list[art.SourceArticle]) -> None:
        """The imported articles whose raw mail and attachments were read again
        (``art.Stale``): what differs from Helpline's is replaced (the attachments of
        an article as a set; the HTML body with them), and every imported article's
        mapping gets its stamp and cursor (``art.Stale``).  An article redacted in
        Helpline is left as it is (docs/data-protection.md)."""
        self.mapping.load("article", [a.id for a in articles])
        mine = [
            (a, pk)
            for a in articles
            if a.ticket_id in self.pks
            and (pk := self.mapping.target("article", a.id)) is not None
        ]
        stale = {pk: a for a, pk in mine if a.reread}
        redacted = self._redacted(list(stale)) if stale else set()
        if redacted:
            for pk in redacted:
                self.report.skip(
                    "article", stale.pop(pk).id, "redacted in Helpline: not read again"
                )
        if stale:
            self._replace_files(stale)
        self.mapping.remember_many(
            "article",
            [
                (a.id, pk, art.stamp(a), a.files, "")
                for a, pk in mine
                if pk not in redacted
            ],
        )

    def _replace_files(self, stale: dict[int, art.SourceArticle]) -> None:
        from helpline.actions.removal import drop_attachments, release_blobs

        current = {
            pk: (raw, sha, html)
            for pk, raw, sha, html in Article.objects.filter(
                pk__in=list(stale)
            ).values_list("pk", "raw_id", "raw__sha256", "body_html")
        }
        held: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in Attachment.objects.filter(article_id__in=list(stale)).values_list(
            "article_id",
            "filename",
            "content_type",
            "content_id",
            "inline",
            "blob__sha256",
        ):
            held[row[0]].append(row[1:])
        blobs = art.store_blobs(art.article_files(stale.values()))
        replace: list[int] = []
        changed: list[Article] = []
        gone: set[int] = set()
        for pk, article in stale.items():
            raw_id, raw_sha, html = current.get(pk, (None, None, ""))
            wanted = sorted(_attachment_row(x) for x in article.attachments)
            if wanted != sorted(held.get(pk, [])):
                replace.append(pk)
            new_sha = article.raw_sha256
            new_html = art.html_body(article)
            if new_sha != raw_sha or new_html != html:
                if new_sha != raw_sha:
                    self.report["raw_mail"].updated += 1
                    if raw_id:
                        gone.add(raw_id)
                changed.append(
                    Article(
                        pk=pk,
                        raw=blobs[new_sha] if new_sha else None,
                        body_html=new_html,
                    )
                )
        if replace:
            count, files = drop_attachments(
                Attachment.objects.filter(article_id__in=replace)
            )
            gone |= files
            fresh: list[Attachment] = []
            keys: list[str] = []
            for pk in replace:
                for item in stale[pk].attachments:
                    fresh.append(_attachment(pk, item, blobs))
                    keys.append(item.key)
            insert_models(fresh)
            self.mapping.remember_many(
                "attachment",
                [(key, a.pk, "", {}, "") for key, a in zip(keys, fresh, strict=True)],
            )
            self.report["attachment"].updated += len(fresh)
            self.report["attachment"].deleted += count
        if changed:
            Article.objects.bulk_update(changed, ["raw", "body_html"], batch_size=500)
        if replace or changed:
            touched = {
                stale[pk].ticket_id for pk in {*replace, *(a.pk for a in changed)}
            }
            Ticket.objects.filter(pk__in=[self.pks[t] for t in touched]).update(
                version=F("version") + 1
            )
            written = {*replace, *(a.pk for a in changed)}
            self.report["article"].updated += len(written - self.updated_articles)
            self.updated_articles |= written
        release_blobs(gone)

    def _unimported(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The batch's history rows not imported yet (``hist.unimported``)."""
        named = {
            int(row["article_id"])
            for row in history
            if row["article_id"]
            and int(row["id"]) > self._cursor(int(row["ticket_id"]))
        } - self.articles.keys()
        self.mapping.load("article", named)
        before = {
            pk: aid for aid in named if (pk := self.mapping.target("article", aid))
        }
        held = ta.held_entries(list(before))
        return hist.unimported(
            history, self._cursor, {before[pk]: count for pk, count in held.items()}
        )

    # --- watchers and the search index ----------------------------------------------
    def _watchers(self, rows: list[dict[str, Any]]) -> None:
        wanted = set()
        report = self.report["watcher"]
        report.source += len(rows)
        for row in rows:
            ticket = self.pks.get(int(row["ticket_id"]))
            agent = self.agent(int(row["user_id"]))
            if ticket is None:
                report.skipped += 1  # the ticket itself was skipped (and reported)
                report.reasons["the ticket was not imported"] += 1
            elif agent is None:
                self.report.skip(
                    "watcher", f"{row['ticket_id']}/{row['user_id']}", "no such agent"
                )
            else:
                wanted.add((ticket, agent))
        pks = list(self.pks.values())
        present = set(
            TicketWatcher.objects.filter(ticket_id__in=pks).values_list(
                "ticket_id", "agent_id"
            )
        )
        gone = present - wanted
        for ticket, agent in gone:
            TicketWatcher.objects.filter(ticket_id=ticket, agent_id=agent).delete()
        TicketWatcher.objects.bulk_create(
            [TicketWatcher(ticket_id=t, agent_id=a) for t, a in wanted - present],
            ignore_conflicts=True,
        )
        report.imported += len(wanted - present)
        report.unchanged += len(wanted & present)
        report.updated += len(gone)  # watching ended in Znuny: ended here

    def _index(self, pks: list[int]) -> None:
        """Search entries of the batch's tickets, in its transaction (as the mail
        pipeline's batches do)."""
        if not pks:
            return
        from helpline.search.indexer import reindex_tickets

        reindex_tickets(sorted(set(pks)))


def _cursors(
    rows: list[dict[str, Any]],
    articles: art.TicketArticles,
    history: list[dict[str, Any]],
    previous: Callable[[int], int],
) -> list[dict[str, Any]]:
    """Each ticket's cursor after its batch: ``history``, the highest history id
    imported (every row the batch read is imported now, by it or before), and
    ``articles``, the newest change time of its articles' ``article`` and
    ``article_data_mime`` rows (``ticket_ids``)."""
    highest: dict[int, int] = {}
    for row in history:
        tid = int(row["ticket_id"])
        highest[tid] = max(highest.get(tid, 0), int(row["id"]))
    newest: dict[int, Any] = {}
    for article in [*articles.new, *articles.imported]:
        if (when := art.changed(article)) is not None:
            tid = article.ticket_id
            newest[tid] = max(newest.get(tid, when), when)
    cursors = []
    for row in rows:
        tid = int(row["id"])
        # Never lowered: a merge may have taken the highest rows away.
        cursor: dict[str, Any] = {"history": max(previous(tid), highest.get(tid, 0))}
        if tid in newest:
            cursor["articles"] = _iso(newest[tid])
        cursors.append(cursor)
    return cursors


def _attachment(
    article: int, item: art.SourceAttachment, blobs: dict[str, Any]
) -> Attachment:
    return Attachment(
        article_id=article,
        blob=blobs[item.sha256],
        size=len(item.content),
        **dict(zip(ATTACHMENT_FIELDS, _attachment_row(item)[:4], strict=True)),
    )


ATTACHMENT_FIELDS = ("filename", "content_type", "content_id", "inline")


def _attachment_row(item: art.SourceAttachment) -> tuple[Any, ...]:
    """What Helpline keeps of an attachment: ``ATTACHMENT_FIELDS`` and its SHA-256."""
    return (
        item.filename[:255] or "unnamed",
        item.content_type[:255],
        item.content_id.strip("<>")[:255],
        item.disposition == "inline",
        item.sha256,
    )


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _epoch(value: Any) -> datetime | None:
    """Znuny's epoch seconds (``until_time``, ``timeout``); 0 means none."""
    if not value:
        return None
    return datetime.fromtimestamp(int(value), UTC)


PHASES: list[Phase] = [
    ("tickets", import_tickets),
    ("deletions", import_deletions),
    ("links", import_links),
]
