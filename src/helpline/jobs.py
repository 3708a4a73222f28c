"""Background and periodic jobs (Huey), run by ``helpline worker``.

Every job calls a domain function that is idempotent and safe to run twice or from
several workers at once (row locks with ``skip_locked``, status checks), so the job
queue may deliver a job more than once without harm.  Periodic jobs additionally take a
storage-wide lock, so when several workers run the scheduler only one runs each job at a
time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, lock_task

from helpline.actions import periodic
from helpline.mail import outbound
from helpline.models import InboundMessage, InboundStatus, MailAccount

log = logging.getLogger(__name__)


@db_task()
def process_inbound_job(message_id: int) -> str:
    from helpline.mail.postmaster import process_inbound

    return str(process_inbound(message_id).status)


@db_task()
def send_outbox_job() -> dict[str, int]:
    return outbound.send_due()


@db_periodic_task(crontab(minute="*"))
@lock_task("helpline-outbox")
def send_outbox_periodic() -> dict[str, int]:
    return outbound.send_due()


@db_periodic_task(crontab(minute="*/5"))
@lock_task("helpline-sweep-inbound")
def sweep_inbound() -> int:
    """Process messages stored but never processed (a job lost in a crash)."""
    from helpline.mail.postmaster import process_inbound

    cutoff = timezone.now() - timedelta(minutes=5)
    ids = list(
        InboundMessage.objects.filter(
            status=InboundStatus.RECEIVED, received__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        process_inbound(pk)
    return len(ids)


@db_periodic_task(crontab(minute="*"))
@lock_task("helpline-fetch")
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
@lock_task("helpline-pending")
def pending_job() -> tuple[int, int]:
    return periodic.close_expired_pending(), periodic.send_pending_reminders()


@db_periodic_task(crontab(minute="*/10"))
@lock_task("helpline-unlock")
def unlock_job() -> int:
    return periodic.unlock_timed_out()


@db_periodic_task(crontab(minute="17", hour="3"))
@lock_task("helpline-archive")
def archive_job() -> int:
    periodic.forget_old_loop_counters()
    return periodic.archive_closed(settings.HELPLINE_ARCHIVE_AFTER_DAYS)


def enqueue_inbound(message_id: int) -> None:
    process_inbound_job(message_id)


def kick_outbox() -> None:
    """Send queued mail soon (after commit) instead of waiting for the minute job."""
    send_outbox_job()


__all__ = ["HUEY", "enqueue_inbound", "kick_outbox"]
