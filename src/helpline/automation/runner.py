"""Previewing and running jobs.

A run goes through the job's tickets (``selection.job_tickets``) in id order, a batch
at a time: at most ``HELPLINE_AUTOMATION_BATCH`` tickets, fewer when a batch held its
row locks longer than ``HELPLINE_AUTOMATION_BATCH_SECONDS`` (``Pace``).  Each batch
is one short transaction, its locks taken as late as possible: its tickets are
row-locked with ``SKIP LOCKED`` (a ticket an agent is changing right now is passed
over, and taken at the end of the run, when the run waits for the agent rather than
the agent for the run) and checked again against the job's search under the lock;
the steps run on the whole batch at once when each has a bulk form (``Step.bulk``),
else on each ticket in a savepoint of its own; what was done to each ticket is
written (``AutomationTicket``, unique per run and ticket) in the same transaction, as
is the run's progress (``AutomationRun.cursor``); the commit does not wait for the
disk (``_short_transaction`` says why that is safe).  So a run that stops half-way —
a killed worker, a database error — has committed whole batches only, and resumes
after the last one, doing nothing twice; a mail to a customer is, besides, written
at most once per job and ticket ever (``AutomationSend``).

An error of the domain (a ticket that cannot be archived, a template not of the
ticket's queue) costs that ticket only: it is recorded on the run.  An error of the
database stops the run; the worker resumes it on its next pass (at most
``MAX_ATTEMPTS`` times).  ``delete`` goes through ``actions.removal``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from helpline import leases
from helpline.actions import removal
from helpline.actions.access import may, may_in_queue
from helpline.automation import selection, steps, triggers
from helpline.automation.definition import require_admin
from helpline.errors import HelplineError, InvalidInput
from helpline.models import (
    AutomationJob,
    AutomationRun,
    AutomationTicket,
    Permission,
    RunStatus,
    Ticket,
)
from helpline.search import indexer

log = logging.getLogger(__name__)

KEEP_ERRORS = 100
PREVIEW_LIMIT = 100
# A run that stopped this many times is given up (its message says why).
MAX_ATTEMPTS = 5
# Tickets passed over (an agent held them) are tried again for this long, without
# waiting for any lock; then a batch waits for the locks, at most LOCK_TIMEOUT.
BUSY_SECONDS = 30.0
LOCK_TIMEOUT = 0.5
PASSED_OVER_LIMIT = 10_000
# Every change of a ticket adds its whole search document to the pending list of
# each GIN index (PostgreSQL); whichever UPDATE finds a list over its limit moves it
# into the index, for seconds, holding its row locks — the job's batch, or an
# agent's change.  The worker moves them every minute (``flush_search_index``),
# enough for the agents' writes, not for a job's: the job moves them itself, between
# batches, after this many changed tickets.
FLUSH_EVERY = 1000


def batch_size() -> int:
    return max(1, int(settings.HELPLINE_AUTOMATION_BATCH))


def _context(job: AutomationJob, run: AutomationRun | None = None) -> steps.Context:
    return steps.Context(
        job=job,
        owner=job.owner,
        actor=job.actor,
        queue_ids=frozenset(job.queues.values_list("pk", flat=True)),
        run=run,
    )


# --- preview -----------------------------------------------------------------------
@dataclass
class PreviewTicket:
    ticket_id: int
    number: str
    title: str
    queue: str
    would: list[str]


@dataclass
class Preview:
    job: str
    count: int
    steps: list[str]
    # The first ``limit`` in the order a run takes them, those the viewer may read.
    tickets: list[PreviewTicket] = field(default_factory=list)
    # Of those first ``limit``, the ones the viewer may not read (counted only).
    hidden: int = 0
    ticket_ids: list[int] = field(default_factory=list)


def preview(
    viewer: Any,
    job: AutomationJob,
    *,
    limit: int = PREVIEW_LIMIT,
    now: datetime | None = None,
    all_ids: bool = False,
) -> Preview:
    """What a run now would do, changing nothing: how many tickets, the first
    ``limit`` (id order) with what each step would do.  ``all_ids``: every id."""
    require_admin(viewer)
    ctx = _context(job)
    tickets = selection.job_tickets(job, now=now, queue_ids=list(ctx.queue_ids))
    ids = list(tickets.order_by("pk").values_list("pk", flat=True)) if all_ids else []
    first = list(
        tickets.select_related("queue", "state", "owner").order_by("pk")[:limit]
    )
    visible = set(
        Ticket.objects.visible_to(viewer)
        .filter(pk__in=[t.pk for t in first])
        .values_list("pk", flat=True)
    )
    result = Preview(
        job=job.name,
        count=len(ids) if all_ids else tickets.count(),
        steps=steps.describe_steps(job.actions),
        ticket_ids=ids,
    )
    for ticket in first:
        if ticket.pk not in visible:
            result.hidden += 1
            continue
        result.tickets.append(
            PreviewTicket(
                ticket_id=ticket.pk,
                number=ticket.number,
                title=ticket.title,
                queue=ticket.queue.name,
                would=[_would(ctx, ticket, p) for p in job.actions],
            )
        )
    return result


def _would(ctx: steps.Context, ticket: Ticket, params: dict[str, Any]) -> str:
    step = steps.STEPS[params["do"]]
    if not may(ctx.owner, ticket, step.need):
        return f"refused: {ctx.owner.get_username()} lacks '{step.need}' here"
    return step.describe(params)


# --- runs ----------------------------------------------------------------------------
def start_run(
    job: AutomationJob,
    *,
    trigger: str,
    slot: datetime | None = None,
    candidates: list[int] | None = None,
) -> AutomationRun | None:
    """A queued run; None when the slot was taken (another worker's run)."""
    try:
        with transaction.atomic():
            return AutomationRun.objects.create(
                job=job, trigger=trigger, slot=slot, candidates=candidates
            )
    except IntegrityError:
        return None


def queue_run(actor: Any, job: AutomationJob) -> AutomationRun:
    """A run an administrator asked for, left to the worker (the API)."""
    require_admin(actor)
    if not job.valid:
        raise InvalidInput(f"Job {job.name!r} is not valid.")
    run = start_run(job, trigger=triggers.MANUAL)
    assert run is not None
    return run


def run_now(actor: Any, job: AutomationJob) -> AutomationRun:
    """Run ``job`` at once in this process (the CLI), as an administrator asked."""
    require_admin(actor)
    run = start_run(job, trigger=triggers.MANUAL)
    assert run is not None
    return process_run(run.pk)


def process_run(run_id: int) -> AutomationRun:
    """Carry out (or resume) a run; one process per job at a time (a lease).
    ``leases.LeaseBusy`` when another process runs the job now."""
    job_id = AutomationRun.objects.values_list("job_id", flat=True).get(pk=run_id)
    with leases.held(f"automation-{job_id}", settings.HELPLINE_JOB_LEASE_SECONDS):
        run = AutomationRun.objects.select_related("job__owner", "job__actor").get(
            pk=run_id
        )
        if run.status in (RunStatus.DONE, RunStatus.FAILED):
            return run
        if run.status == RunStatus.RUNNING:
            _attempt(run)
        run.status, run.started = RunStatus.RUNNING, run.started or timezone.now()
        run.save(update_fields=["status", "started", "message"])
        job = run.job
        if not job.valid or not (job.owner.is_active and job.owner.is_staff):
            return _finish(
                run,
                RunStatus.FAILED,
                f"{job.owner.get_username()} is no longer an active administrator"
                if job.valid
                else "the job is not valid",
            )
        ctx = _context(job, run)
        if any(p["do"] == steps.DELETE for p in job.actions):
            _delete_all(ctx, run)
        else:
            _change_all(ctx, run)
        return _finish(run, RunStatus.DONE, run.message)


def _attempt(run: AutomationRun) -> None:
    """A run found running was stopped: count it, and give up after a few."""
    attempts = run.message.count("resumed") + 1
    if attempts >= MAX_ATTEMPTS:
        run.message += " given up"
        _finish(run, RunStatus.FAILED, run.message)
        raise InvalidInput(f"Run {run.pk} stopped {MAX_ATTEMPTS} times; given up.")
    run.message = (run.message + " resumed").strip()


def _finish(run: AutomationRun, status: str, message: str) -> AutomationRun:
    run.status, run.message, run.finished = status, message.strip(), timezone.now()
    run.save(update_fields=["status", "message", "finished"])
    return run


def _tickets(ctx: steps.Context, run: AutomationRun) -> Any:
    return selection.job_tickets(
        ctx.job, candidates=run.candidates, queue_ids=list(ctx.queue_ids)
    )


def _next_ids(
    ctx: steps.Context, run: AutomationRun, size: int | None = None
) -> list[int]:
    return list(
        _tickets(ctx, run)
        .filter(pk__gt=run.cursor)
        .order_by("pk")
        .values_list("pk", flat=True)[: size or batch_size()]
    )


class Pace:
    """The batch size that keeps a batch's row locks (from the locking ``SELECT``
    to the commit) near ``HELPLINE_AUTOMATION_BATCH_SECONDS``: halved, or less,
    after a slow batch, doubled after a quick one, never above ``batch_size()``.
    What a batch does before it locks (finding its tickets) or after its commit
    (queueing the search index) is not counted: it holds no lock."""

    def __init__(self) -> None:
        self.most = batch_size()
        self.size = self.most
        self.target = float(settings.HELPLINE_AUTOMATION_BATCH_SECONDS)

    def took(self, seconds: float) -> None:
        if seconds > self.target:
            self.size = max(1, int(self.size * self.target / seconds))
        elif seconds < self.target / 2:
            self.size = min(self.most, self.size * 2)


def _change_all(ctx: steps.Context, run: AutomationRun) -> None:
    pace = Pace()
    flushed = run.changed
    while ids := _next_ids(ctx, run, pace.size):
        _batch(ctx, run, ids, wait=False, pace=pace)
        if run.changed - flushed >= FLUSH_EVERY:
            indexer.flush_pending()  # outside any batch: no row lock held
            flushed = run.changed
    _take_passed_over(ctx, run, pace)


def _take_passed_over(ctx: steps.Context, run: AutomationRun, pace: Pace) -> None:
    """The tickets the batches passed over (an agent held them), taken at the end:
    rounds of ``SKIP LOCKED`` batches, the run pausing between them (the run waits
    for the agents, and nobody waits for the run); after ``BUSY_SECONDS`` of that, a
    batch that waits for the locks, at most ``LOCK_TIMEOUT`` (then the run stops,
    and the worker resumes it on its next minute)."""
    deadline = time.monotonic() + BUSY_SECONDS
    pause = 0.05
    while busy := _passed_over(ctx, run):
        wait = time.monotonic() >= deadline
        skipped: list[int] = []
        for start in range(0, len(busy), pace.size):
            chunk = busy[start : start + pace.size]
            skipped += _batch(ctx, run, chunk, wait=wait, pace=pace)
        if skipped:
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def _passed_over(ctx: steps.Context, run: AutomationRun) -> list[int]:
    """Tickets up to the run's cursor that match the job and that the run has no
    record of: those a batch passed over.  Found in the database, not remembered,
    so that a run resumed after it stopped takes them too."""
    recorded = AutomationTicket.objects.filter(run_id=run.pk, ticket_id=OuterRef("pk"))
    return list(
        _tickets(ctx, run)
        .filter(pk__lte=run.cursor)
        .exclude(Exists(recorded))
        .order_by("pk")
        .values_list("pk", flat=True)[:PASSED_OVER_LIMIT]
    )


def _short_transaction(*, wait: bool) -> None:
    """The batch's commit does not wait for the disk (PostgreSQL: no WAL flush, so
    its row locks go when the commit is written, not when the disk has it); and a
    batch that waits for locks waits at most ``LOCK_TIMEOUT``.

    Why losing the last batches in a crash of the database server (at most about
    three times ``wal_writer_delay``, 0.6 s by default) does nothing twice: the
    batch's changes, its ``AutomationTicket`` and ``AutomationSend`` rows and the
    run's cursor are in the one transaction, lost or kept together, and the resumed
    run does those tickets again, once.  The WAL is one sequence: a later commit
    that waited for the disk (any agent's, the outbox's claim of a mail, a search
    job's) made the batch durable first.  What leaves the database does so only
    after such a commit: a mail is sent after ``mail.outbound`` committed its claim
    of the outbox row (waiting for the disk); the search index and the
    notifications are rows of the same database, written after the batch."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if wait:
            cursor.execute(
                "SELECT set_config('synchronous_commit', 'off', true),"
                " set_config('lock_timeout', %s, true)",
                [f"{int(LOCK_TIMEOUT * 1000)}ms"],
            )
        else:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _batch(
    ctx: steps.Context,
    run: AutomationRun,
    ids: list[int],
    *,
    wait: bool,
    pace: Pace | None = None,
) -> list[int]:
    """One transaction: lock, re-check, change, record; the ids passed over (locked
    by someone else) unless ``wait``.  What to do is decided before the locks are
    taken; under them, a few statements for the whole batch when every step of the
    job has a bulk form (``Step.bulk``), else each ticket's steps in turn."""
    done_before = set(
        AutomationTicket.objects.filter(run=run, ticket_id__in=ids).values_list(
            "ticket_id", flat=True
        )
    )
    todo = [pk for pk in ids if pk not in done_before]
    bulk = all(steps.STEPS[p["do"]].bulk is not None for p in ctx.job.actions)
    with transaction.atomic():
        _short_transaction(wait=wait)
        locking = time.monotonic()
        locked = _lock(ctx, run, todo, wait=wait)
        if pace is not None:  # the first thing after the commit: the locks are gone
            transaction.on_commit(lambda: pace.took(time.monotonic() - locking))
        taken = {t.pk for t in locked}
        records = _apply_bulk(ctx, run, locked) if bulk else None
        if records is None:
            records = [_one(ctx, run, ticket) for ticket in locked]
        indexer.index_after_commit([r.ticket_id for r in records if r.ok and r.done])
        AutomationTicket.objects.bulk_create(records)
        run.cursor = max(run.cursor, ids[-1])
        run.matched += len(records)
        run.changed += sum(1 for r in records if r.ok and r.done)
        run.failed += sum(1 for r in records if not r.ok)
        room = KEEP_ERRORS - len(run.errors)
        run.errors += [
            {"ticket": r.ticket_id, "error": r.done[-1]} for r in records if not r.ok
        ][: max(room, 0)]
        run.save(update_fields=["cursor", "matched", "changed", "failed", "errors"])
    return [] if wait else [pk for pk in todo if pk not in taken]


def _lock(
    ctx: steps.Context, run: AutomationRun, ids: list[int], *, wait: bool
) -> list[Ticket]:
    """The tickets of ``ids`` that still match the job, row-locked (those locked by
    someone else passed over, unless ``wait``)."""
    return list(
        _tickets(ctx, run)
        .filter(pk__in=ids)
        .select_for_update(skip_locked=not wait, of=("self",))
        .select_related("queue", "state", "owner", "responsible", "customer")
        .order_by("pk")
    )


def _apply_bulk(
    ctx: steps.Context, run: AutomationRun, tickets: list[Ticket]
) -> list[AutomationTicket] | None:
    """Every step on the whole batch at once (``Step.bulk``), the owner's
    permission checked once per queue; None (and nothing done) when a step refused
    one ticket with a domain error: then each ticket's steps run in turn."""
    allowed: dict[tuple[int, str], bool] = {}
    refused: dict[int, str] = {}
    for params in ctx.job.actions:
        need = steps.STEPS[params["do"]].need
        for ticket in tickets:
            key = (ticket.queue_id, need)
            if key not in allowed:
                allowed[key] = may(ctx.owner, ticket, need)
            if not allowed[key] and ticket.pk not in refused:
                refused[ticket.pk] = _lacks(ctx, ticket, need)
    fine = [t for t in tickets if t.pk not in refused]
    done: dict[int, list[str]] = {t.pk: [] for t in fine}
    try:
        with transaction.atomic():
            for params in ctx.job.actions:
                bulk = steps.STEPS[params["do"]].bulk
                assert bulk is not None
                for pk, outcome in bulk(ctx, fine, params).items():
                    done[pk].append(outcome)
    except HelplineError:
        return None
    return [
        _failed(ctx, run, t, refused[t.pk])
        if t.pk in refused
        else AutomationTicket(run=run, job=ctx.job, ticket_id=t.pk, done=done[t.pk])
        for t in tickets
    ]


def _lacks(ctx: steps.Context, ticket: Ticket, need: str) -> str:
    return f"{ctx.owner.get_username()} lacks '{need}' on queue {ticket.queue.name}"


def _one(ctx: steps.Context, run: AutomationRun, ticket: Ticket) -> AutomationTicket:
    """Every step on one ticket, in a savepoint: all or nothing for the ticket."""
    done: list[str] = []
    try:
        with transaction.atomic():
            for params in ctx.job.actions:
                step = steps.STEPS[params["do"]]
                if not may(ctx.owner, ticket, step.need):
                    raise InvalidInput(_lacks(ctx, ticket, step.need))
                outcome = step.apply(ctx, ticket, params)
                if outcome:
                    done.append(outcome)
    except DatabaseError:
        raise  # the database's trouble, not the ticket's: the run stops
    except HelplineError as exc:
        return _failed(ctx, run, ticket, exc.message)
    except Exception as exc:  # a defect shown by one ticket must not stop the rest
        log.exception("job %s failed on ticket %s", ctx.job.name, ticket.pk)
        return _failed(ctx, run, ticket, removal.describe(exc))
    return AutomationTicket(run=run, job=ctx.job, ticket_id=ticket.pk, done=done)


def _failed(
    ctx: steps.Context, run: AutomationRun, ticket: Ticket, error: str
) -> AutomationTicket:
    return AutomationTicket(
        run=run, job=ctx.job, ticket_id=ticket.pk, ok=False, done=[error[:300]]
    )


def _delete_all(ctx: steps.Context, run: AutomationRun) -> None:
    """Delete through ``actions.removal`` (its own transactions, its re-check of the
    job's search under the lock), then record the batch."""
    allowed = [
        q.pk for q in ctx.job.queues.all() if may_in_queue(ctx.owner, q, Permission.RW)
    ]
    where = selection.condition_of(
        ctx.job, candidates=run.candidates, queue_ids=allowed
    )
    while ids := _next_ids(ctx, run):
        wanted = [
            pk
            for pk in Ticket.objects.filter(
                pk__in=ids, queue_id__in=allowed
            ).values_list("pk", flat=True)
        ]
        outcome = removal.delete_tickets(
            wanted,
            actor=ctx.actor,
            reason=f"automation job {ctx.job.name}",
            where=where,
        )
        with transaction.atomic():
            left = set(Ticket.objects.filter(pk__in=ids).values_list("pk", flat=True))
            gone = [pk for pk in ids if pk not in left]
            refused = [pk for pk in ids if pk in left and pk not in wanted]
            AutomationTicket.objects.bulk_create(
                [
                    AutomationTicket(
                        run=run, job=ctx.job, ticket_id=pk, done=["deleted"]
                    )
                    for pk in gone
                ]
                + [
                    AutomationTicket(
                        run=run,
                        job=ctx.job,
                        ticket_id=pk,
                        ok=False,
                        done=[f"{ctx.owner.get_username()} lacks 'rw' here"],
                    )
                    for pk in refused
                ],
                ignore_conflicts=True,
            )
            run.cursor = max(run.cursor, ids[-1])
            run.matched += len(gone) + len(refused)
            run.changed += len(gone)
            run.failed += len(refused) + len(outcome.errors)
            run.errors += [
                {"ticket": None, "error": e["error"]} for e in outcome.errors
            ][: max(KEEP_ERRORS - len(run.errors), 0)]
            run.save(update_fields=["cursor", "matched", "changed", "failed", "errors"])


# --- the worker's minute ---------------------------------------------------------------
def due_runs(now: datetime | None = None) -> list[int]:
    """Start the runs due now: scheduled jobs whose cron line matches this minute,
    event jobs with new events.  Returns the runs to process (with the queued and
    stopped ones of before)."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    for job in AutomationJob.objects.filter(valid=True).select_related("owner"):
        if job.trigger == triggers.SCHEDULE:
            try:
                matches = triggers.cron(job.schedule)(timezone.localtime(minute))
            except InvalidInput:
                log.warning("job %s has a bad schedule %r", job.name, job.schedule)
                continue
            if matches:
                start_run(job, trigger=triggers.SCHEDULE, slot=minute)
        elif job.trigger in triggers.EVENTS:
            _event_run(job, now)
    return list(
        AutomationRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _event_run(job: AutomationJob, now: datetime) -> None:
    """The tickets of the job's new events, as a run, and the cursor moved past
    them, in one transaction: events are neither lost nor taken twice."""
    event = triggers.EVENTS[job.trigger]
    with transaction.atomic():
        locked = AutomationJob.objects.select_for_update().get(pk=job.pk)
        cursor = locked.event_cursor
        if cursor is None:
            cursor = event.start()
        tickets, after = event.source(cursor, now - triggers.EVENT_LAG)
        if after != locked.event_cursor:
            locked.event_cursor = after
            locked.save(update_fields=["event_cursor"])
        if tickets:
            AutomationRun.objects.create(
                job=job, trigger=job.trigger, candidates=tickets
            )


def work(now: datetime | None = None) -> int:
    """The worker's minute: start what is due, process what waits; runs done."""
    count = 0
    for run_id in due_runs(now):
        try:
            process_run(run_id)
        except leases.LeaseBusy:
            continue  # another worker runs that job now
        except (DatabaseError, InvalidInput):
            log.exception("automation run %s stopped; resumed next time", run_id)
            continue
        count += 1
    return count
