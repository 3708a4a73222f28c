"""Mail in and out: received messages, filters, mail accounts, the outbox, loop counters."""

from __future__ import annotations

from django.db import models


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "received, not yet processed"
    PROCESSED = "processed", "processed"
    QUARANTINED = "quarantined", "quarantined (processing failed)"
    REJECTED = "rejected", "rejected (ignored by a filter or duplicate)"


class InboundMessage(models.Model):
    """A message as received, stored before anything else happens to it."""

    raw = models.ForeignKey("helpline.Blob", on_delete=models.PROTECT, related_name="+")
    # The exact bytes' SHA-256: the same bytes twice are one message.
    sha256 = models.CharField(max_length=64, unique=True)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    transport = models.CharField(max_length=20)  # pipe, lmtp, smtp, imap, pop3, cli
    envelope_recipients = models.JSONField(default=list, blank=True)
    queue_hint = models.ForeignKey(
        "helpline.Queue",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="A queue the transport was told to deliver to.",
    )
    trust_headers = models.BooleanField(
        default=False, help_text="X-Helpline-* control headers are obeyed."
    )
    status = models.CharField(
        max_length=20, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    reason = models.TextField(blank=True)
    # What the pipeline decided and why (rules that fired, follow-up method, automatic).
    decisions = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="Traceback of the last failure.")
    attempts = models.PositiveIntegerField(default=0)
    ticket = models.ForeignKey(
        "helpline.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    article = models.ForeignKey(
        "helpline.Article",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    received = models.DateTimeField(auto_now_add=True)
    processed = models.DateTimeField(null=True, blank=True)
    # The spam filter's verdict (docs/spam.md): its score and the rules that fired,
    # from spamd in the pipeline or from the headers of a trusted MTA's filter;
    # empty when nothing judged the message.
    spam_score = models.FloatField(null=True, blank=True)
    spam_symbols = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "helpline_inbound_message"
        indexes = [models.Index(fields=["status", "received"], name="inbound_status")]

    def __str__(self) -> str:
        return f"inbound {self.pk} ({self.status})"


class PostmasterFilter(models.Model):
    """An admin-defined rule applied to every inbound message, in order."""

    name = models.CharField(max_length=200, unique=True)
    order = models.IntegerField(default=0)
    # [{"header": "From", "regex": "noreply@", "negate": false}, ...]: all must match.
    matches = models.JSONField(default=list)
    # {"queue": "Junk", "priority": 1, "ignore": true, "no_auto_response": true, ...}
    sets = models.JSONField(default=dict)
    stop = models.BooleanField(
        default=False, help_text="Stop after this filter matched."
    )
    valid = models.BooleanField(default=True)
    comment = models.TextField(blank=True)

    class Meta:
        db_table = "helpline_postmaster_filter"
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class MailAccount(models.Model):
    class Protocol(models.TextChoices):
        IMAP = "imap", "IMAP"
        IMAPS = "imaps", "IMAPS"
        IMAP_STARTTLS = "imap_starttls", "IMAP + STARTTLS"
        POP3 = "pop3", "POP3"
        POP3S = "pop3s", "POP3S"
        POP3_STARTTLS = "pop3_starttls", "POP3 + STARTTLS"

    name = models.CharField(max_length=200, unique=True)
    protocol = models.CharField(max_length=20, choices=Protocol.choices)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(null=True, blank=True)
    username = models.CharField(max_length=255)
    password = models.CharField(max_length=255)
    folder = models.CharField(max_length=255, default="INBOX")
    # After storing: delete the message, or move it to this folder (IMAP only).
    move_to = models.CharField(max_length=255, blank=True)
    queue = models.ForeignKey(
        "helpline.Queue",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Deliver everything here; empty = route by recipient.",
    )
    trust_headers = models.BooleanField(default=False)
    verify_tls = models.BooleanField(default=True)
    valid = models.BooleanField(default=True)
    last_fetch = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "helpline_mail_account"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    SENDING = "sending", "being sent"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"


class OutboxMessage(models.Model):
    """A message to send, written in the same transaction as its article."""

    article = models.ForeignKey(
        "helpline.Article",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbox",
    )
    raw = models.ForeignKey("helpline.Blob", on_delete=models.PROTECT, related_name="+")
    # The ticket the message is about: its article's, or the one an agent
    # notification names (which has no article), so that removing a ticket's data
    # finds every mail that quotes it (``actions.removal``).
    ticket = models.ForeignKey(
        "helpline.Ticket",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        # Indexed by ``outbox_ticket`` (built concurrently: migration 0029).
        db_index=False,
    )
    message_id = models.CharField(max_length=998, db_index=True)
    envelope_from = models.CharField(max_length=320)
    recipients = models.JSONField()
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    sent = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "helpline_outbox"
        indexes = [
            models.Index(fields=["status", "next_attempt"], name="outbox_due"),
            models.Index(fields=["ticket"], name="outbox_ticket"),
        ]

    def __str__(self) -> str:
        return f"outbox {self.pk} ({self.status})"


class AutoResponseLog(models.Model):
    """How many automatic mails went to one address on one day (loop protection)."""

    address = models.CharField(max_length=320)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "helpline_auto_response_log"
        constraints = [
            models.UniqueConstraint(
                fields=["address", "day"], name="autoresp_log_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.address} {self.day}: {self.count}"
