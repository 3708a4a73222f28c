"""The agents' logged-in sessions, as agents and administrators see and end them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AgentSession(models.Model):
    """One logged-in session of an agent (docs/authentication.md, "Sessions").

    Only the SHA-256 of the session key is kept: a copy of this table opens no
    session.  The session store reads this row in the same query as the session
    itself (``helpline.web.sessions``), so an ended, idle or too old session is
    refused on its next request without a query more.
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=200, blank=True, default="")
    ip = models.CharField(max_length=64, blank=True, default="")
    created = models.DateTimeField()
    # Written at most once a minute (helpline.web.sessions.SEEN_PRECISION).
    last_seen = models.DateTimeField()
    # When the session was ended (logged out, ended by its agent or an
    # administrator, timed out); null while it is in force.
    ended = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        db_table = "helpline_agent_session"
        indexes = [
            models.Index(fields=["agent", "ended"], name="agent_session_agent"),
        ]

    def __str__(self) -> str:
        return f"session {self.pk} of {self.agent_id}"
