"""The read audit: every read of a ticket or of a part of it, recorded.

Each entry point that shows ticket content calls ``record`` with the agent and what it
read.  Within a ``reading`` scope (a web or API request: ``helpline.web.audit``; a
command; a job) the events are collected and written in one statement when the scope
ends; outside any scope each event is written at once.  Writing is part of serving the
read: when the events cannot be written, the scope raises ``ReadAuditUnavailable``
and the web tier answers 503 instead of the content (a read nobody can account for
is not served).  The worker deletes events older than ``HELPLINE_READ_AUDIT_DAYS``
(``purge_expired``); nothing else removes or changes one.  docs/data-protection.md.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, router
from django.utils import timezone

from helpline.errors import HelplineError
from helpline.models import (
    PrivacyRun,
    PrivacyRunKind,
    PrivacyRunStatus,
    ReadChannel,
    ReadEvent,
    ReadKind,
)
from helpline.monitoring import requestid

if TYPE_CHECKING:
    from helpline.models import Ticket

log = logging.getLogger(__name__)


class ReadAuditUnavailable(HelplineError):
    """The read could not be recorded, so it is not served."""

    code = "read_audit_unavailable"
    http_status = 503


@dataclass
class _Scope:
    channel: str
    client: str
    events: list[ReadEvent] = field(default_factory=list)


_scope: ContextVar[_Scope | None] = ContextVar("helpline_read_scope", default=None)


def _write(events: list[ReadEvent]) -> None:
    if not events:
        return
    try:
        ReadEvent.objects.using(router.db_for_write(ReadEvent)).bulk_create(events)
    except DatabaseError as exc:
        log.error("read audit: %d event(s) could not be written: %s", len(events), exc)
        raise ReadAuditUnavailable(
            "The read could not be recorded in the audit; try again later."
        ) from exc


@contextlib.contextmanager
def reading(channel: str, client: str = "") -> Iterator[None]:
    """Collect the reads made inside; write them in one statement at the end."""
    if channel not in ReadChannel.values:
        raise ValueError(f"unknown read channel {channel!r}")
    scope = _Scope(channel=channel, client=client[:300])
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)
    flush(scope)


def flush(scope: _Scope) -> None:
    """Write the events of ``scope`` (and forget them)."""
    events, scope.events = scope.events, []
    _write(events)


def record(
    agent: Any,
    ticket: Ticket,
    kind: str,
    *,
    article_id: int | None = None,
    attachment_id: int | None = None,
    channel: str | None = None,
    client: str = "",
) -> None:
    """``agent`` read ``kind`` of ``ticket`` (the article or attachment named)."""
    if kind not in ReadKind.values:
        raise ValueError(f"unknown read kind {kind!r}")
    scope = _scope.get()
    event = ReadEvent(
        at=timezone.now(),
        agent_id=getattr(agent, "pk", None),
        agent_name=agent.get_username() if agent is not None else "",
        ticket_id=ticket.pk,
        ticket_number=ticket.number,
        customer_id=ticket.customer_id,
        kind=kind,
        article_id=article_id,
        attachment_id=attachment_id,
        channel=channel or (scope.channel if scope else ReadChannel.JOB),
        client=(client or (scope.client if scope else ""))[:300],
        request_id=(requestid.current() or "")[:64],
    )
    if scope is None:
        _write([event])
    else:
        scope.events.append(event)


def pending() -> int:
    """How many events the current scope holds unwritten (for tests and checks)."""
    scope = _scope.get()
    return len(scope.events) if scope else 0


# --- keeping the audit ------------------------------------------------------------------
PURGE_BATCH = 10_000


def purge_expired(days: int, *, batch: int = PURGE_BATCH) -> PrivacyRun:
    """Delete the events older than ``days`` days, ``batch`` rows per statement (each
    its own transaction: no long lock on the table), recorded as a privacy run of
    kind ``audit_purge`` with the count.  Safe to run twice: the second finds
    nothing older."""
    now = timezone.now()
    cutoff = now - timedelta(days=days)
    run = PrivacyRun.objects.create(
        kind=PrivacyRunKind.AUDIT_PURGE,
        status=PrivacyRunStatus.RUNNING,
        created=now,
        started=now,
        options={"days": days, "before": cutoff.isoformat()},
    )
    deleted = 0
    try:
        while True:
            oldest = ReadEvent.objects.filter(at__lt=cutoff).order_by("at", "id")
            # One DELETE ... WHERE id IN (SELECT id ... LIMIT batch) per round.
            count, _ = ReadEvent.objects.filter(
                pk__in=oldest.values("pk")[:batch]
            ).delete()
            deleted += count
            if count < batch:
                break
    except DatabaseError as exc:
        log.error("read audit purge stopped after %d event(s): %s", deleted, exc)
        run.status = PrivacyRunStatus.FAILED
        run.errors = [str(exc)]
    else:
        run.status = PrivacyRunStatus.DONE
    run.finished = timezone.now()
    run.report = {"deleted": deleted}
    run.save(update_fields=["status", "errors", "finished", "report"])
    return run
