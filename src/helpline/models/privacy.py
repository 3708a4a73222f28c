"""What data protection keeps: the read audit, the runs that removed data, and the
explicit rights that no superuser holds by default (docs/data-protection.md)."""

from __future__ import annotations

from typing import Any

from django.db import models


class ReadKind(models.TextChoices):
    """What was read."""

    TICKET = "ticket", "ticket with its articles"
    ARTICLE = "article", "article"
    ATTACHMENT = "attachment", "attachment"
    INLINE = "inline", "inline image"
    RAW = "raw", "raw mail"
    HTML = "html", "HTML view"
    HISTORY = "history", "history"
    EXPORT = "export", "export"


class ReadChannel(models.TextChoices):
    """Through which entry point."""

    WEB = "web", "web interface"
    API = "api", "REST API"
    CLI = "cli", "command line"
    ADMIN = "admin", "administration site"
    JOB = "job", "background job"


class ReadEvent(models.Model):
    """One read of a ticket or of a part of it, by an agent.

    Append-only (a trigger refuses updates); kept for ``HELPLINE_READ_AUDIT_DAYS`` and
    then purged by the worker.  No foreign keys: the event outlives the ticket, the
    article and the agent's account, and then still names the ticket's number and the
    agent's login.  The customer is kept as its id only (never its address): an
    erasure anonymises the customer's row, and the audit of who read their tickets
    stays without naming them.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    agent_id = models.IntegerField(null=True, blank=True)
    agent_name = models.CharField(max_length=150, blank=True)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    ticket_number = models.CharField(max_length=50, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=ReadKind.choices)
    # The article or attachment read (ids), for the kinds that name one.
    article_id = models.BigIntegerField(null=True, blank=True)
    attachment_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=ReadChannel.choices)
    # Where from: the client's address and a short user agent, or the command.
    client = models.CharField(max_length=300, blank=True)
    # The request's id (helpline/monitoring/requestid.py), to tie reads to a log line.
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "helpline_read_event"
        indexes = [
            models.Index(fields=["at"], name="read_event_at"),
            models.Index(fields=["agent_id", "at"], name="read_event_agent"),
            models.Index(fields=["ticket_id", "at"], name="read_event_ticket"),
            models.Index(fields=["customer_id", "at"], name="read_event_customer"),
        ]
        permissions = [
            ("audit_reads", "Search and export the read audit"),
            (
                "handle_personal_data",
                "Answer access and erasure requests, set retention and legal holds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.agent_name} read {self.kind} of {self.ticket_number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("the read audit is append-only")
        super().save(*args, **kwargs)


class RetentionAction(models.TextChoices):
    DELETE = "delete", "delete"
    ANONYMISE = "anonymise", "anonymise"


class PrivacyRunKind(models.TextChoices):
    RETENTION = "retention", "retention"
    ERASURE = "erasure", "erasure of a person"
    REDACTION = "redaction", "redaction"
    AUDIT_PURGE = "audit_purge", "read audit purge"
    EXPORT = "export", "subject-access export"


class PrivacyRunStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class PrivacyRun(models.Model):
    """One run of a job that removes data (retention, an erasure): what it was asked,
    what it removed (ticket numbers and counts, never content), and its errors; or
    of a subject-access export (what it included, in counts, and its file while it
    waits for its download: ``actions.subject_access``).

    An erasure's or an export's ``subject`` is the address it was asked for only
    while the run is pending or running; when it has finished the address is
    replaced by its SHA-256, so the record of the erasure does not keep what it
    erased, nor that of an export whose it was.
    """

    kind = models.CharField(max_length=20, choices=PrivacyRunKind.choices)
    status = models.CharField(
        max_length=10,
        choices=PrivacyRunStatus.choices,
        default=PrivacyRunStatus.PENDING,
    )
    requested_by = models.IntegerField(null=True, blank=True)
    requested_by_name = models.CharField(max_length=150, blank=True)
    subject = models.CharField(max_length=320, blank=True)
    options = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField()
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # {"deleted": [numbers], "anonymised": [numbers], "articles": n, ...}
    report = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "helpline_privacy_run"
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["kind", "-created"], name="privacy_run_kind")]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} ({self.status})"
