"""An agent's unsent reply, note or forward, kept on the server while it is written."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DraftKind(models.TextChoices):
    REPLY = "reply", "reply"
    NOTE = "note", "note"
    FORWARD = "forward", "forward"


class ComposeDraft(models.Model):
    """One row per agent, ticket and kind of form: every field of the form as typed.

    Personal data: only its agent ever reads it (``actions.drafts``); it goes with
    the ticket (``actions.removal``) and after ``HELPLINE_DRAFT_DAYS`` untouched.
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    ticket = models.ForeignKey(
        "helpline.Ticket", on_delete=models.CASCADE, related_name="drafts"
    )
    kind = models.CharField(max_length=10, choices=DraftKind.choices)
    fields = models.JSONField(default=dict)
    created = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        db_table = "helpline_compose_draft"
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "ticket", "kind"], name="compose_draft_unique"
            )
        ]
        indexes = [
            models.Index(fields=["ticket"], name="compose_draft_ticket"),
            models.Index(fields=["updated"], name="compose_draft_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.kind} {self.ticket_id}"
