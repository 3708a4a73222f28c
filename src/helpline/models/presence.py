"""Who has a ticket open right now: the collision warning of the agent interface."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PresenceAction(models.TextChoices):
    VIEWING = "viewing", "viewing"
    REPLYING = "replying", "replying"


class Presence(models.Model):
    """One row per agent and ticket, refreshed by the page's heartbeat.

    A row older than a few heartbeats means the agent left; nothing deletes rows on
    leaving (browsers do not say goodbye reliably), readers filter on ``last_seen``.
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    ticket = models.ForeignKey(
        "helpline.Ticket", on_delete=models.CASCADE, related_name="presence"
    )
    action = models.CharField(
        max_length=10, choices=PresenceAction.choices, default=PresenceAction.VIEWING
    )
    last_seen = models.DateTimeField()

    class Meta:
        db_table = "helpline_presence"
        constraints = [
            models.UniqueConstraint(fields=["agent", "ticket"], name="presence_unique")
        ]
        indexes = [models.Index(fields=["ticket", "last_seen"], name="presence_ticket")]

    def __str__(self) -> str:
        return f"{self.agent} {self.action} {self.ticket_id}"
