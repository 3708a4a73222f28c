"""Background and periodic jobs (Huey), run by ``helpline worker``.

Every job calls a domain function that is idempotent and safe to run twice or from
several workers at once (row locks with ``skip_locked``, status checks), so the job
queue may deliver a job more than once without harm.  A queued job is taken by exactly
one worker (Huey's storage pops it atomically).  Every worker that runs the scheduler
enqueues each periodic job, so periodic jobs claim their time slot in the database
first (``once_per_slot``): across all workers on all machines, each runs once per slot.
A lease in the same database (``helpline.leases``, taken before the slot is claimed)
keeps a slow run from overlapping the next; it expires when its worker dies, so a
killed worker cannot stop a periodic job for good (Huey's ``lock_task`` would: its lock
stays in the job storage until someone deletes it).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.exceptions import RetryTask

from helpline import leases
from helpline.actions import (
    drafts,
    erasure,
    escalations,
    periodic,
    read_audit,
    reports_aggregate,
    retention,
    sessions,
)
from helpline.mail import outbound
from helpline.models import (
    InboundMessage,
    InboundStatus,
    MailAccount,
    PeriodicRun,
    PrivacyRun,
    PrivacyRunKind,
)
from helpline.responses import report_mail
from helpline.responses.password_reset import send_reset_mail

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
# Claims older than this are forgotten by the daily job.
KEEP_PERIODIC_RUNS = timedelta(days=2)
# A job that met the blob store down is tried again after this (docs/object-store.md).
STORE_RETRY_SECONDS = 60
# Held by every retention run, nightly or asked for: never two at once.
RETENTION_LEASE = "helpline-retention"


def slot_of(when: datetime, minutes: int) -> datetime:
    """The start of the ``minutes``-long slot (counted from the epoch, UTC) ``when`` is in."""
    epoch_minutes = int(when.timestamp() // 60)
    return datetime.fromtimestamp((epoch_minutes - epoch_minutes % minutes) * 60, UTC)


def claim_slot(job: str, minutes: int, *, now: datetime | None = None) -> bool:
    """Whether this worker is the first to run ``job`` in the current slot."""
    slot = slot_of(now or timezone.now(), minutes)
    try:
        with transaction.atomic():
            PeriodicRun.objects.create(
                job=job, slot=slot, worker=f"{socket.gethostname()}:{os.getpid()}"
            )
    except IntegrityError:
        log.info("%s already ran for %s; skipped", job, slot.isoformat())
        return False
    return True


def once_per_slot(minutes: int) -> Callable[[F], F]:
    """Run the decorated periodic job at most once per ``minutes`` across all workers."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            if not claim_slot(func.__name__, minutes):
                return None
            return func(*args, **kwargs)

        return run  # type: ignore[return-value]

    return decorate


def leased_once_per_slot(lease: str, minutes: int) -> Callable[[F], F]:
    """Run the decorated periodic job at most once per ``minutes`` across all workers,
    never while another run of it holds the lease ``lease``.

    A copy that finds the lease held retries when it would expire, as long as that is
    within its slot: a run whose worker died resumes within the lease's length
    (``HELPLINE_JOB_LEASE_SECONDS``) rather than a slot later; a live worker's lease
    is renewed, so a slow run is never overlapped.
    """

    def decorate(func: F) -> F:
        slotted = once_per_slot(minutes)(func)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                with leases.held(lease, settings.HELPLINE_JOB_LEASE_SECONDS):
                    return slotted(*args, **kwargs)
            except leases.LeaseBusy as busy:
                now = timezone.now()
                wait = max((busy.expires - now).total_seconds(), 0) + 1
                slot_end = slot_of(now, minutes) + timedelta(minutes=minutes)
                if now + timedelta(seconds=wait) < slot_end:
                    log.info("%s; %s retries in %.0f s", busy, func.__name__, wait)
                    raise RetryTask(delay=wait) from None
                log.info("%s; %s skipped for this slot", busy, func.__name__)
                return None

        return run  # type: ignore[return-value]

    return decorate


@db_task()
def process_inbound_job(message_id: int) -> str:
    """Process the message, with those that arrived after it and still wait, in one
    transaction (``HELPLINE_INBOUND_BATCH``); a message an earlier batch took is left
    alone."""
    from helpline.blobstore import BlobStoreUnavailable
    from helpline.mail.postmaster import process_waiting

    try:
        done = process_waiting(message_id)
    except BlobStoreUnavailable:
        # The message stays stored and "received": try again in a minute.
        raise RetryTask(delay=STORE_RETRY_SECONDS) from None
    mine = [m for m in done if m.pk == message_id]
    return str(mine[0].status) if mine else "done before"


@db_task()
def send_outbox_job() -> dict[str, int]:
    return outbound.send_due()


@db_task()
def password_reset_mail_job(email: str) -> None:
    """Queue the reset mail for ``email`` (if it is an agent's) in the outbox.  A job,
    so that asking for a reset costs the web request the same whether the address is
    an agent's or not (docs/authentication.md)."""
    send_reset_mail(email)


@db_periodic_task(crontab(minute="*"))
@leased_once_per_slot("helpline-outbox", 1)
def send_outbox_periodic() -> dict[str, int]:
    return outbound.send_due()


@db_periodic_task(crontab(minute="*/5"))
@leased_once_per_slot("helpline-sweep-inbound", 5)
def sweep_inbound() -> int:
    """Process messages stored but never processed (a job lost in a crash), one per
    transaction: one that crashes the process must not take others down with it."""
    from helpline.blobstore import BlobStoreUnavailable
    from helpline.mail.postmaster import process_inbound

    cutoff = timezone.now() - timedelta(minutes=5)
    ids = list(
        InboundMessage.objects.filter(
            status=InboundStatus.RECEIVED, received__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )
    for done, pk in enumerate(ids):
        try:
            process_inbound(pk)
        except BlobStoreUnavailable:
            return done  # the blob store is down: the next sweep goes on
    return len(ids)


@db_periodic_task(crontab(minute="*"))
@leased_once_per_slot("helpline-fetch", 1)
def fetch_mail_accounts() -> int:
    """Fetch every valid mail account whose interval has passed."""
    from helpline.mail.transports.accounts import fetch_account

    due = timezone.now() - timedelta(minutes=settings.HELPLINE_FETCH_INTERVAL_MINUTES)
    count = 0
    for account in MailAccount.objects.filter(valid=True):
        if account.last_fetch is None or account.last_fetch <= due:
            try:
                fetch_account(account)
            except Exception:
                log.exception("fetching mail account %s failed", account.name)
            count += 1
    return count


@db_periodic_task(crontab(minute="*/5"))
@leased_once_per_slot("helpline-pending", 5)
def pending_job() -> tuple[int, int]:
    return periodic.close_expired_pending(), periodic.send_pending_reminders()


@db_periodic_task(crontab(minute="*"))
@leased_once_per_slot("helpline-escalations", 1)
def escalation_job() -> int:
    """Agents warned before and told at escalation, each clock period once
    (``actions.escalations``, docs/service-levels.md)."""
    return escalations.send_escalation_notices()


@db_periodic_task(crontab(minute="*/5"))
@leased_once_per_slot("helpline-reports", 5)
def reports_job() -> int:
    """The report aggregates brought up to date with the tickets changed since the
    last run (``actions.reports_aggregate``, docs/reports.md)."""
    return reports_aggregate.update_reports()


@db_periodic_task(crontab(minute="7", hour="6"))
@once_per_slot(60)
def report_mail_job() -> int:
    """Last week's report to each subscribed agent not mailed it yet: daily, so a
    Monday the worker missed is made up (``responses.report_mail``)."""
    return report_mail.send_weekly_reports()


@db_periodic_task(crontab(minute="*/10"))
@leased_once_per_slot("helpline-unlock", 10)
def unlock_job() -> int:
    return periodic.unlock_timed_out()


@db_periodic_task(crontab(minute="*"))
@leased_once_per_slot("helpline-search-flush", 1)
def flush_search_index() -> int:
    """The search index's pending writes moved into the index by the worker, never
    by an agent's request (``helpline.search.indexer.flush_pending``)."""
    from helpline.search.indexer import flush_pending

    return flush_pending()


@db_periodic_task(crontab(minute="17", hour="3"))
@leased_once_per_slot("helpline-archive", 1440)
def archive_job() -> int:
    periodic.forget_old_loop_counters()
    PeriodicRun.objects.filter(slot__lt=timezone.now() - KEEP_PERIODIC_RUNS).delete()
    return periodic.archive_closed(settings.HELPLINE_ARCHIVE_AFTER_DAYS)


@db_periodic_task(crontab(minute="41", hour="3"))
@leased_once_per_slot("helpline-sessions", 1440)
def purge_sessions_job() -> int:
    """Expired sessions out of the session table; ended ones forgotten after 30 days."""
    return sessions.purge_sessions()


@db_periodic_task(crontab(minute="53", hour="3"))
@leased_once_per_slot("helpline-read-audit-purge", 1440)
def purge_read_audit_job() -> int:
    """Read audit events older than ``HELPLINE_READ_AUDIT_DAYS`` deleted, 10,000 per
    statement, recorded as a privacy run (docs/data-protection.md)."""
    run = read_audit.purge_expired(settings.HELPLINE_READ_AUDIT_DAYS)
    return int(run.report.get("deleted", 0))


@db_periodic_task(crontab(minute="47", hour="3"))
@leased_once_per_slot("helpline-drafts-purge", 1440)
def purge_drafts_job() -> int:
    """Agents' drafts untouched for ``HELPLINE_DRAFT_DAYS`` deleted
    (``actions.drafts``, docs/data-protection.md)."""
    return drafts.purge_old_drafts(settings.HELPLINE_DRAFT_DAYS)


@db_periodic_task(crontab(minute="7", hour="4"))
@leased_once_per_slot("helpline-inactive-agents", 1440)
def inactive_agents_job() -> dict[str, int]:
    """Agents without login or activity for HELPLINE_DEACTIVATE_INACTIVE_MONTHS
    warned, then deactivated after the grace period; off by default
    (``responses.inactivity``, docs/administration.md)."""
    from helpline.responses import inactivity

    return inactivity.run()


@db_periodic_task(crontab(minute="23", hour="2"))
@leased_once_per_slot(RETENTION_LEASE, 1440)
def retention_job() -> dict[str, int]:
    """Every night: each queue's tickets due for removal deleted or anonymised, as a
    privacy run (``actions.retention``); the totals."""
    run = retention.run_retention()
    return dict(run.report.get("totals", {}))


@db_task()
def privacy_run_job(run_id: int) -> str:
    """Carry out a privacy run someone asked for (retention now, an erasure).  A
    retention run waits while the nightly one (or another) holds the lease."""
    kind = PrivacyRun.objects.filter(pk=run_id).values_list("kind", flat=True).first()
    if kind == PrivacyRunKind.RETENTION:
        try:
            with leases.held(RETENTION_LEASE, settings.HELPLINE_JOB_LEASE_SECONDS):
                run = retention.run_retention(run=PrivacyRun.objects.get(pk=run_id))
        except leases.LeaseBusy as busy:
            wait = max((busy.expires - timezone.now()).total_seconds(), 0) + 1
            raise RetryTask(delay=wait) from None
        return str(run.status)
    if kind == PrivacyRunKind.ERASURE:
        done = erasure.run_erasure(run_id)
        return str(done.status) if done is not None else "taken"
    return "unknown"


def enqueue_privacy_run(run_id: int) -> None:
    """Have the worker carry out the run once the transaction that asked for it
    has committed."""
    transaction.on_commit(lambda: privacy_run_job(run_id))


@db_periodic_task(crontab(minute="*"))
@leased_once_per_slot("helpline-automation", 1)
def automation_job() -> int:
    """Automation jobs (docs/automation.md): start the scheduled ones whose minute
    it is and the event ones with new events; carry out queued runs, and resume
    stopped ones."""
    from helpline.automation.runner import work

    return work()


@db_task()
def automation_run_job(run_id: int) -> str:
    """Carry out a run someone asked for (the API); the minute job would too."""
    from helpline.automation.runner import process_run

    try:
        return str(process_run(run_id).status)
    except leases.LeaseBusy:
        return "busy"


@db_task()
def subject_access_export_job(run_id: int) -> str:
    """Write a subject-access export asked for on the web or through the API."""
    from helpline.actions.subject_access import run_export

    return str(run_export(run_id).status)


@db_periodic_task(crontab(minute="23"))
@leased_once_per_slot("helpline-subject-access-purge", 60)
def purge_subject_access_exports() -> int:
    """Delete export files past their time, and those of lost runs."""
    from helpline.actions.subject_access import purge_exports

    return purge_exports()


def enqueue_inbound(message_id: int) -> None:
    process_inbound_job(message_id)


def kick_outbox() -> None:
    """Send queued mail soon (after commit) instead of waiting for the minute job."""
    send_outbox_job()


__all__ = ["HUEY", "enqueue_inbound", "enqueue_privacy_run", "kick_outbox"]
