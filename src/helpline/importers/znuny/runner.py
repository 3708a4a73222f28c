"""One import run: the phases in order, the marks, the report, ``--dry-run``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from helpline import blobstore
from helpline.importers.znuny.report import Progress, Report
from helpline.importers.znuny.source import Source, SourceError
from helpline.importers.znuny.state import Mapping
from helpline.models import ImportRun, ImportRunStatus

log = logging.getLogger(__name__)

# Tickets changed this long before the last run's newest change are read again: a
# clock on one of the source's application servers may lag (re-reading is harmless).
CHANGE_MARGIN = timedelta(hours=1)


class _DryRunRollback(Exception):
    pass


@dataclass
class Context:
    """What every phase gets."""

    source: Source
    mapping: Mapping
    report: Report
    progress: Progress
    dry_run: bool = False
    # The marks of the last finished run ({} on the first run) and of this one.
    previous: dict[str, Any] = field(default_factory=dict)
    marks: dict[str, Any] = field(default_factory=dict)
    say: Callable[[str], None] = lambda _text: None
    # Filled by phases for later ones (e.g. the importing "system" agent).
    shared: dict[str, Any] = field(default_factory=dict)

    @property
    def incremental(self) -> bool:
        return bool(self.previous)

    def changed_since(self) -> datetime | None:
        """Source-local naive time: tickets changed at or after it are read again."""
        value = self.previous.get("ticket_change_time")
        if not value:
            return None
        return datetime.fromisoformat(value) - CHANGE_MARGIN


Phase = tuple[str, Callable[[Context], None]]


def phases() -> list[Phase]:
    """Every phase, in the order they must run (later ones look up earlier ones)."""
    from helpline.importers.znuny import access, continuity, org, tickets

    return [*org.PHASES, *tickets.PHASES, *access.PHASES, *continuity.CONTINUITY_PHASES]


ARTICLE_STORAGE = "Ticket::Article::Backend::MIMEBase::ArticleStorage"


def check_article_storage(source: Source) -> None:
    """Refuse to start when Znuny keeps its articles in the file system and the run
    was not given that directory: the attachments and raw mail would be missing, and
    nothing in the database would tell."""
    from helpline.importers.znuny.continuity import effective_settings

    if source.article_dir is not None:
        return
    try:
        storage = effective_settings(source, (ARTICLE_STORAGE,)).get(ARTICLE_STORAGE)
    except Exception:  # noqa: BLE001 - OTRS before 6 has no SysConfig tables
        source._rollback()  # noqa: SLF001 - a fresh snapshot, before any mark is read
        log.warning(
            "could not read %s; assuming articles in the database", ARTICLE_STORAGE
        )
        return
    if storage and storage.endswith("ArticleStorageFS"):
        raise SourceError(
            "this Znuny keeps its articles in the file system (ArticleStorageFS): give "
            "its var/article directory with --article-dir (a copy or a read-only mount "
            "is enough)"
        )


def read_marks(source: Source) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        if value is None:
            return None
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    return {
        "ticket_change_time": iso(source.scalar("SELECT MAX(change_time) FROM ticket")),
        "ticket_id": source.scalar("SELECT MAX(id) FROM ticket"),
        "article_id": source.scalar("SELECT MAX(id) FROM article"),
        "history_id": source.scalar("SELECT MAX(id) FROM ticket_history"),
        # Znuny writes these rows anew, never in place (tickets.ticket_ids).
        "attachment_id": source.scalar(
            "SELECT MAX(id) FROM article_data_mime_attachment"
        )
        or 0,
        "plain_id": source.scalar("SELECT MAX(id) FROM article_data_mime_plain") or 0,
    }


def last_finished(source_name: str) -> ImportRun | None:
    return (
        ImportRun.objects.filter(source=source_name, status=ImportRunStatus.DONE)
        .order_by("-started")
        .first()
    )


def run(
    source: Source,
    *,
    dry_run: bool = False,
    full: bool = False,
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda _text: None,
    only: list[str] | None = None,
) -> tuple[Report, ImportRun | None]:
    """Import everything (or what changed since the last finished run).

    ``full`` reads every source row again even after an earlier run (rows already
    imported are still updated, never duplicated).  With ``dry_run`` everything is
    read and mapped in transactions that are rolled back, none longer than a stretch
    of the run (``_dry_run``): nothing is kept.
    """
    check_article_storage(source)  # before the marks: it may need a new snapshot
    previous_run = None if full else last_finished(source.name)
    ctx = Context(
        source=source,
        mapping=Mapping(source.name, dry_run=dry_run),
        report=Report(),
        progress=progress or Progress(enabled=False),
        dry_run=dry_run,
        previous=dict(previous_run.marks) if previous_run else {},
        marks=read_marks(source),
        say=say,
    )
    selected = [p for p in phases() if only is None or p[0] in only]
    if dry_run:
        # Large blobs go to the store before their rows: the rollbacks take the rows,
        # kept_only_if_committed the objects.
        with blobstore.kept_only_if_committed():
            try:
                _dry_run(ctx, selected)
            finally:
                ctx.progress.finish()
        return ctx.report, None

    record = ImportRun.objects.create(
        source=source.name,
        started=timezone.now(),
        options={
            "url": _redacted(source.url),
            "article_dir": str(source.article_dir or ""),
            "time_zone": source.zone.key,
            "full": full,
            "incremental": ctx.incremental,
            "only": only or [],
        },
        marks=ctx.marks,
    )
    try:
        _run_phases(ctx, selected)
    except BaseException:
        record.status = ImportRunStatus.FAILED
        record.finished = timezone.now()
        record.report = ctx.report.as_dict()
        record.save(update_fields=["status", "finished", "report"])
        raise
    finally:
        ctx.progress.finish()
    record.status = ImportRunStatus.DONE if only is None else ImportRunStatus.PARTIAL
    record.finished = timezone.now()
    record.report = ctx.report.as_dict()
    record.marks = ctx.marks  # with what the phases added (e.g. "retry_tickets")
    record.save(update_fields=["status", "finished", "report", "marks"])
    return ctx.report, record


# Phases that, in a dry run, roll back each of their batches themselves (the
# tickets, a transaction per batch) or write nothing (the deletions: counted only).
BATCHED = frozenset({"tickets", "deletions"})


def _dry_run(ctx: Context, selected: list[Phase]) -> None:
    """Every phase, nothing kept, and no transaction longer than a stretch of the
    run: the phases before the tickets (the organisation) in one transaction rolled
    back at their end, each batch of tickets in one of its own (rolled back), and
    the phases after them together in one more.  So no row a live Helpline's agents
    or its mail intake may need (a ticket, a customer's address, a number, a
    stored file) stays locked for longer than that stretch, and SQLite's single
    writer is let go between batches.  The tickets refer to the organisation's rows
    by the ids the dry run remembers (``state.Mapping``, in memory): their rows are
    gone by then, which the database does not check before a commit that never
    comes (foreign keys are deferred).  What a phase after the tickets reads of
    Helpline's tables (the access report) does not include the tickets the dry run
    would have imported."""
    group: list[Phase] = []

    def flush() -> None:
        if not group:
            return
        try:
            with transaction.atomic():
                _run_phases(ctx, group)
                if "states" not in ctx.shared:  # for the tickets (their types)
                    from helpline.models import TicketState

                    ctx.shared["states"] = dict(
                        TicketState.objects.values_list("pk", "type")
                    )
                raise _DryRunRollback
        except _DryRunRollback:
            pass
        group.clear()

    for phase in selected:
        if phase[0] in BATCHED:
            flush()
            _run_phases(ctx, [phase])
        else:
            group.append(phase)
    flush()


def _run_phases(ctx: Context, selected: list[Phase]) -> None:
    for name, phase in selected:
        ctx.say(f"{name} ...")
        log.info("import phase %s", name)
        phase(ctx)


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (
            f":{parts.port}" if parts.port else ""
        )
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)
