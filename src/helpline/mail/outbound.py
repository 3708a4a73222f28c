"""The outbox: queued messages go out through SMTP, surviving outages and crashes.

- A message is queued in the same transaction as its article (``queue_message``).
- ``send_due`` claims due rows (status ``sending``, committed) before talking to the
  server, then sends the stored bytes unchanged and marks them ``sent``.
- A temporary failure (connection refused, timeout, 4xx) retries with back-off; a
  permanent one (5xx for every recipient) or the last retry marks the row ``failed``,
  which the ticket shows, with a ``delivery_failed`` history entry.
- A row still ``sending`` after its claim expired means the worker stopped while
  sending: the server may or may not have taken it.  Helpline never sends a message
  twice on its own, so such a row is marked ``failed`` with that explanation, and an
  agent can look and retry it (``helpline outbox retry ID``).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from helpline.actions.history import record
from helpline.blobstore import BlobStoreUnavailable, read_blob, store_blob
from helpline.mail import hooks
from helpline.models import Article, HistoryType, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

# Back-off after the n-th failed attempt; after the last, the message fails.
BACKOFF = [60, 300, 900, 1800, 3600, 7200, 14400, 28800]
# The blob store down: the message waits this long, and the try does not count
# towards giving up (it is not the recipient's fault).
STORE_RETRY = timedelta(seconds=60)
CLAIM = timedelta(minutes=10)


def queue_message(
    raw: bytes,
    *,
    message_id: str,
    envelope_from: str,
    recipients: list[str],
    article: Article | None,
    ticket_id: int | None = None,
) -> OutboxMessage:
    """Queue ``raw`` for sending; call inside the transaction that stores its article.

    ``ticket_id``: the ticket the message is about when it has no article (an agent
    notification), so that removing the ticket's data finds it; the article's ticket
    otherwise.  The worker is asked to send as soon as the transaction commits; the
    minute job catches anything that request misses.
    """
    for hook in hooks.on_outbox_queued:
        transaction.on_commit(hook)
    return OutboxMessage.objects.create(
        article=article,
        ticket_id=article.ticket_id if article is not None else ticket_id,
        raw=store_blob(raw),
        message_id=message_id,
        envelope_from=envelope_from,
        recipients=sorted(set(recipients)),
        next_attempt=timezone.now(),
    )


class SmtpUrl:
    """``smtp://host:port``, ``smtp+starttls://user:pass@host:587``, ``smtps://...``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
            raise ValueError(f"HELPLINE_SMTP_URL: unknown scheme {parts.scheme!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname or "127.0.0.1"
        default_port = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[self.scheme]
        self.port = parts.port or default_port
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")

    def connect(self, timeout: float = 30) -> smtplib.SMTP:
        context = ssl.create_default_context()
        server: smtplib.SMTP
        if self.scheme == "smtps":
            server = smtplib.SMTP_SSL(
                self.host, self.port, timeout=timeout, context=context
            )
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=timeout)
            if self.scheme == "smtp+starttls":
                server.starttls(context=context)
        if self.user:
            server.login(self.user, self.password)
        return server


def _claim_due(limit: int) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        # Expired claims: the worker died while sending. Never resend blindly.
        stale = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            status=OutboxStatus.SENDING, claimed_until__lt=now
        )
        for row in stale:
            _fail(
                row,
                "The worker stopped while sending this message; it may or may not "
                "have been delivered. Check with the recipient, then retry it.",
            )
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxStatus.QUEUED, next_attempt__lte=now)
            .order_by("next_attempt", "id")
            .values_list("pk", flat=True)[:limit]
        )
        OutboxMessage.objects.filter(pk__in=rows).update(
            status=OutboxStatus.SENDING, claimed_until=now + CLAIM
        )
    return rows


def _fail(row: OutboxMessage, error: str) -> None:
    row.status = OutboxStatus.FAILED
    row.last_error = error[:4000]
    row.claimed_until = None
    row.save(update_fields=["status", "last_error", "claimed_until", "attempts"])
    if row.article_id is not None:
        article = Article.objects.select_related("ticket").get(pk=row.article_id)
        record(
            article.ticket,
            HistoryType.DELIVERY_FAILED,
            None,
            article=article,
            error=error[:500],
            recipients=row.recipients,
        )


def _retry_later(row: OutboxMessage, error: str) -> None:
    if row.attempts >= len(BACKOFF):
        _fail(row, f"Gave up after {row.attempts} attempts: {error}")
        return
    row.status = OutboxStatus.QUEUED
    row.last_error = error[:4000]
    row.claimed_until = None
    row.next_attempt = timezone.now() + timedelta(seconds=BACKOFF[row.attempts - 1])
    row.save(
        update_fields=[
            "status",
            "last_error",
            "claimed_until",
            "next_attempt",
            "attempts",
        ]
    )


def _wait_for_store(row: OutboxMessage, exc: BlobStoreUnavailable) -> None:
    row.status = OutboxStatus.QUEUED
    row.last_error = f"blob store unavailable: {exc.message}"[:4000]
    row.claimed_until = None
    row.next_attempt = timezone.now() + STORE_RETRY
    row.save(update_fields=["status", "last_error", "claimed_until", "next_attempt"])


def _send_one(server: smtplib.SMTP, row: OutboxMessage) -> None:
    raw = read_blob(row.raw)
    refused = server.sendmail(row.envelope_from, row.recipients, raw)
    with transaction.atomic():
        row.attempts += 1
        row.status = OutboxStatus.SENT
        row.sent = timezone.now()
        row.claimed_until = None
        row.last_error = (
            "refused: " + "; ".join(f"{a}: {c} {m!r}" for a, (c, m) in refused.items())
            if refused
            else ""
        )
        row.save()


def send_due(limit: int = 100) -> dict[str, int]:
    """Send what is due; returns counts by outcome.  Safe to run from several workers."""
    ids = _claim_due(limit)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not ids:
        return counts
    try:
        server = SmtpUrl(settings.HELPLINE_SMTP_URL).connect()
    except (OSError, smtplib.SMTPException) as exc:
        for row in OutboxMessage.objects.filter(pk__in=ids):
            row.attempts += 1
            _retry_later(row, f"cannot reach the SMTP server: {exc}")
            counts["retry"] += 1
        return counts
    try:
        for row in OutboxMessage.objects.filter(pk__in=ids).order_by("id"):
            try:
                _send_one(server, row)
                counts["sent"] += 1
            except BlobStoreUnavailable as exc:
                _wait_for_store(row, exc)
                counts["retry"] += 1
            except smtplib.SMTPRecipientsRefused as exc:
                row.attempts += 1
                codes = [code for code, _ in exc.recipients.values()]
                if all(400 <= c < 500 for c in codes):
                    _retry_later(row, f"recipients deferred: {exc.recipients}")
                    counts["retry"] += 1
                else:
                    _fail(row, f"recipients refused: {exc.recipients}")
                    counts["failed"] += 1
            except smtplib.SMTPResponseException as exc:
                row.attempts += 1
                text = f"{exc.smtp_code} {exc.smtp_error!r}"
                if 400 <= exc.smtp_code < 500:
                    _retry_later(row, text)
                    counts["retry"] += 1
                else:
                    _fail(row, text)
                    counts["failed"] += 1
            except (TimeoutError, OSError, smtplib.SMTPException) as exc:
                row.attempts += 1
                _retry_later(row, f"connection lost: {exc}")
                counts["retry"] += 1
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()
    return counts


def retry(outbox_id: int) -> OutboxMessage:
    """Queue a failed message again (an agent or admin decided to resend it)."""
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().get(pk=outbox_id)
        if row.status != OutboxStatus.FAILED:
            return row
        row.status = OutboxStatus.QUEUED
        row.next_attempt = timezone.now()
        row.attempts = 0
        row.save(update_fields=["status", "next_attempt", "attempts"])
        return row
