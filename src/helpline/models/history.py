"""The append-only history of every ticket: who did what, when."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class HistoryType(models.TextChoices):
    CREATED = "created", "ticket created"
    ARTICLE = "article", "article added"
    FOLLOW_UP = "follow_up", "follow-up received"
    MOVED = "moved", "moved"
    LOCKED = "locked", "locked"
    UNLOCKED = "unlocked", "unlocked"
    OWNER = "owner", "owner set"
    RESPONSIBLE = "responsible", "responsible set"
    PRIORITY = "priority", "priority set"
    STATE = "state", "state set"
    PENDING_TIME = "pending_time", "pending time set"
    TITLE = "title", "title set"
    CUSTOMER = "customer", "customer set"
    MERGED = "merged", "merged"
    UNMERGED = "unmerged", "merge undone"
    SPLIT = "split", "split"
    LINK_ADDED = "link_added", "link added"
    LINK_REMOVED = "link_removed", "link removed"
    ARCHIVED = "archived", "archived"
    UNARCHIVED = "unarchived", "unarchived"
    WATCH = "watch", "watch started"
    UNWATCH = "unwatch", "watch ended"
    EMAIL_SENT = "email_sent", "email queued"
    AUTO_RESPONSE = "auto_response", "auto-response queued"
    DELIVERY_FAILED = "delivery_failed", "delivery failed"
    BOUNCE = "bounce", "bounced"
    REDACTED = "redacted", "content redacted"
    ANONYMISED = "anonymised", "anonymised"
    LEGAL_HOLD = "legal_hold", "legal hold set"
    LEGAL_HOLD_RELEASED = "legal_hold_released", "legal hold released"
    SPAM = "spam", "marked as spam"
    NOT_SPAM = "not_spam", "marked as not spam"
    SERVICE_LEVEL = "service_level", "service level set"
    # An event of the system the ticket was imported from that Helpline has no type
    # for (its data keeps the old type's name and text).
    IMPORTED = "imported", "imported event"


class HistoryEntry(models.Model):
    ticket = models.ForeignKey(
        "helpline.Ticket", on_delete=models.PROTECT, related_name="history"
    )
    type = models.CharField(max_length=30, choices=HistoryType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField()
    article = models.ForeignKey(
        "helpline.Article",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Event details: old and new values, ids moved by a merge, the reason given.
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "helpline_history"
        indexes = [
            models.Index(fields=["ticket", "created", "id"], name="history_ticket")
        ]
        verbose_name_plural = "history entries"

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.type} on {self.ticket_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("history is append-only")
        super().save(*args, **kwargs)
