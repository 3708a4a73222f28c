"""The agent's day (issue 19): mentions in notes, out-of-office with a substitute,
saved searches (docs/web.md, "Mentions, out of office and saved searches")."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Mention(models.Model):
    """``@login`` in a note: the ticket is listed under the agent's "Mentions" until
    the agent opens the ticket or dismisses it (the row is deleted then).  Written
    only for an agent who may read the ticket (``actions.mentions``)."""

    ticket = models.ForeignKey(
        "helpline.Ticket", on_delete=models.CASCADE, related_name="mentions"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    article = models.ForeignKey(
        "helpline.Article", on_delete=models.CASCADE, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField()

    class Meta:
        db_table = "helpline_mention"
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "ticket"], name="mention_unique_agent_ticket"
            )
        ]

    def __str__(self) -> str:
        return f"@{self.agent} on ticket {self.ticket_id}"


class OutOfOffice(models.Model):
    """An agent's absence: from ``start`` to ``end`` (stored in UTC; entered in
    ``time_zone``), notifications also go to ``substitute`` and new assignments go to
    the substitute instead (``actions.out_of_office``)."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    time_zone = models.CharField(max_length=64, default="UTC")
    substitute = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "helpline_out_of_office"

    def __str__(self) -> str:
        return f"{self.agent} away {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"


class SavedSearch(models.Model):
    """A search query kept under a name: the owner's own, or shared with the agents
    who may read the queues of ``group`` (sharing needs ``rw`` on the group)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=100)
    query = models.TextField()
    group = models.ForeignKey(
        "helpline.Group",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_searches",
    )
    created = models.DateTimeField()

    class Meta:
        db_table = "helpline_saved_search"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="saved_search_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name
