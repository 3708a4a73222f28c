"""Retention: tickets removed a queue's number of days after they were done with.

Per queue (``Queue.retention_days``, ``retention_action``, ``junk``):

- a closed ticket (state type closed) is deleted or anonymised ``retention_days``
  after it was closed (``closed_at``);
- in a junk queue every ticket ``retention_days`` after its last change
  (``changed``), whatever its state;
- a merged ticket goes with the ticket it was merged into (``actions.removal``),
  never on its own; a ticket under legal hold never goes, nor one whose merged part
  is held; an anonymised ticket is not removed again; archived tickets count like
  the others.  A queue without ``retention_days`` keeps its tickets for ever.

``retention_preview`` lists per queue what the next run will remove: two statements
per queue, each a range of the partial indexes ``ticket_retention`` and
``ticket_retention_junk`` (migration 0029), whatever the number of tickets kept.
``run_retention`` removes the same tickets, oldest first, in batches of
``removal.BATCH`` (each one transaction; one that fails costs only itself), as a
``PrivacyRun`` that records per queue how many tickets went and which (their
numbers, up to ``REPORT_NUMBERS``).  The worker runs it every night
(``helpline.jobs.retention_job``).  docs/data-protection.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from helpline.actions import admin, privacy_rights, privacy_runs, removal
from helpline.errors import InvalidInput
from helpline.models import (
    PrivacyRun,
    PrivacyRunKind,
    PrivacyRunStatus,
    Queue,
    RetentionAction,
    StateType,
    Ticket,
)
from helpline.models.keyset import after_key

PREVIEW_NUMBERS = 20
# Numbers of removed tickets a run's report names per queue (the counts are exact).
REPORT_NUMBERS = 1000
# A run's report is saved after a batch at most this often (and at the end).
PROGRESS_SECONDS = 10
RETENTION_FIELDS = ("retention_days", "retention_action", "junk")
MAX_DAYS = 100 * 366


@dataclass
class QueueRetention:
    """What the next run removes from one queue."""

    queue_id: int
    queue: str
    days: int
    action: str
    junk: bool
    cutoff: datetime
    count: int
    # The first ``limit`` of them, in the order the run takes them (oldest first).
    numbers: list[str]


def due(queue: Queue, now: datetime) -> tuple[Q, tuple[str, str]]:
    """The condition of the queue's tickets due for removal at ``now``, and the
    order a run takes them in.  The condition is the predicate of the partial
    index it is read from (no held, no anonymised tickets)."""
    assert queue.retention_days is not None
    cutoff = now - timedelta(days=queue.retention_days)
    base = Q(queue_id=queue.pk, legal_hold=False, anonymised__isnull=True)
    if queue.junk:
        return base & Q(changed__lt=cutoff) & ~Q(state_type=StateType.MERGED), (
            "changed",
            "id",
        )
    return base & Q(state_type=StateType.CLOSED, closed_at__lt=cutoff), (
        "closed_at",
        "id",
    )


def retention_queues() -> QuerySet[Queue]:
    """The queues that keep their tickets for a time (valid or not)."""
    return Queue.objects.filter(retention_days__isnull=False).order_by("name")


def retention_preview(
    *, now: datetime | None = None, limit: int = PREVIEW_NUMBERS
) -> list[QueueRetention]:
    """Per queue with a retention time: how many tickets the next run removes, and
    the first ``limit`` of them.  Plain look-up: entry points use
    ``preview_retention``, which checks the right."""
    now = now or timezone.now()
    rows = []
    for queue in retention_queues():
        condition, order = due(queue, now)
        tickets = Ticket.objects.filter(condition)
        rows.append(
            QueueRetention(
                queue_id=queue.pk,
                queue=queue.name,
                days=int(queue.retention_days or 0),
                action=queue.retention_action,
                junk=queue.junk,
                cutoff=now - timedelta(days=int(queue.retention_days or 0)),
                count=tickets.count(),
                numbers=list(
                    tickets.order_by(*order).values_list("number", flat=True)[:limit]
                ),
            )
        )
    return rows


def preview_retention(
    actor: Any, *, now: datetime | None = None, limit: int = PREVIEW_NUMBERS
) -> list[QueueRetention]:
    """``retention_preview`` for a holder of ``handle_personal_data``."""
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    return retention_preview(now=now, limit=limit)


# --- setting it ------------------------------------------------------------------------
def check_retention(days: int | None, action: str) -> None:
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"Retention must be 1 to {MAX_DAYS} days, or none.")
    if action not in RetentionAction.values:
        raise InvalidInput(
            f"The retention action must be {' or '.join(RetentionAction.values)}."
        )


def require_may_set(actor: Any, queue: Queue, changed: Iterable[str]) -> None:
    """Setting a queue's retention is for holders of ``handle_personal_data``: a
    shorter time removes tickets for good.  ``changed``: the fields a form changed
    (of a new queue: all of them, so its retention counts when it has one)."""
    if queue.pk is None:
        wanted = queue.retention_days is not None or queue.junk
    else:
        wanted = bool(set(changed) & set(RETENTION_FIELDS))
    if wanted:
        privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
        check_retention(queue.retention_days, queue.retention_action)


def set_queue_retention(
    actor: Any, queue: Queue, *, days: int | None, action: str, junk: bool
) -> Queue:
    """Set how long the queue keeps its tickets (``None``: for ever), whether they
    are then deleted or anonymised, and whether the queue holds junk; in the
    administration log."""
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    check_retention(days, action)
    with transaction.atomic():
        locked = Queue.objects.select_for_update().get(pk=queue.pk)
        before = admin.summary(locked, RETENTION_FIELDS)
        locked.retention_days, locked.retention_action, locked.junk = (
            days,
            action,
            junk,
        )
        locked.save(update_fields=list(RETENTION_FIELDS))
        admin.record(
            actor,
            "changed retention",
            locked,
            before=before,
            after=admin.summary(locked, RETENTION_FIELDS),
        )
    return locked


# --- running it ------------------------------------------------------------------------
class _Report:
    """A run's report as it grows, saved now and then."""

    def __init__(self, run: PrivacyRun, now: datetime) -> None:
        self.run = run
        self.saved = time.monotonic()
        self.totals = removal.Outcome()
        run.report = {
            "now": now.isoformat(),
            "queues": {},
            "totals": self.totals.counts(),
        }

    def start(self, queue: Queue, cutoff: datetime) -> dict[str, Any]:
        part: dict[str, Any] = {
            "action": queue.retention_action,
            "days": queue.retention_days,
            "junk": queue.junk,
            "cutoff": cutoff.isoformat(),
            **removal.Outcome().counts(),
            "numbers": [],
            "more_numbers": False,
        }
        self.run.report["queues"][queue.name] = part
        return part

    def add(self, queue: Queue, part: dict[str, Any], done: removal.Outcome) -> None:
        self.totals.add(done)
        for key, value in done.counts().items():
            part[key] += value
        numbers = [*done.deleted, *done.anonymised]
        room = REPORT_NUMBERS - len(part["numbers"])
        part["numbers"].extend(numbers[:room])
        part["more_numbers"] = part["more_numbers"] or len(numbers) > room
        self.run.errors.extend({"queue": queue.name, **e} for e in done.errors)
        self.run.report["totals"] = self.totals.counts()
        if time.monotonic() - self.saved >= PROGRESS_SECONDS:
            privacy_runs.save_progress(self.run)
            self.saved = time.monotonic()


def run_retention(
    *,
    run: PrivacyRun | None = None,
    now: datetime | None = None,
    batch: int = removal.BATCH,
) -> PrivacyRun:
    """Remove what ``retention_preview`` lists, queue by queue, oldest first.

    ``run``: a pending run asked for by someone (``privacy_runs.request_run``); it
    is claimed first, and left alone when another worker has it.  Without one (the
    nightly job), a run is recorded here.  Returns the run, done (its errors, if
    any, listed) or failed (when something outside a batch broke: it re-raises).
    """
    now = now or timezone.now()
    if run is None:
        run = privacy_runs.new_run(
            PrivacyRunKind.RETENTION, status=PrivacyRunStatus.RUNNING
        )
    else:
        claimed = privacy_runs.claim(run.pk, PrivacyRunKind.RETENTION)
        if claimed is None:
            return run
        run = claimed
    report = _Report(run, now)
    try:
        with removal.removing():
            for queue in retention_queues():
                _run_queue(queue, now, run, report, batch)
    except Exception as exc:
        run.errors.append({"error": removal.describe(exc)})
        privacy_runs.finish(run, failed=True)
        raise
    return privacy_runs.finish(run)


def _run_queue(
    queue: Queue, now: datetime, run: PrivacyRun, report: _Report, batch: int
) -> None:
    condition, (at, _) = due(queue, now)
    part = report.start(queue, now - timedelta(days=int(queue.retention_days or 0)))
    after: Q | None = None
    while True:
        page = Ticket.objects.filter(condition)
        if after is not None:
            page = page.filter(after)
        rows = list(page.order_by(at, "id").values_list("pk", at)[:batch])
        if not rows:
            return
        done = removal.remove_tickets(
            [pk for pk, _ in rows],
            action=queue.retention_action,
            actor=None,
            reason="retention",
            run=run,
            where=condition,
        )
        report.add(queue, part, done)
        # The next page after this one: a ticket left (held meanwhile, failed)
        # is not met again in this run.
        last_pk, last_at = rows[-1]
        after = after_key(at, last_at, last_pk)
