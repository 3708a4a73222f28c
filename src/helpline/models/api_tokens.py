"""Tokens that let an agent's scripts use the REST API."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TokenScope(models.TextChoices):
    READ = "read", "read"
    WRITE = "write", "write"


class ApiToken(models.Model):
    """A bearer token of one agent; the secret itself is never stored.

    Only the SHA-256 of the token is kept (the token is a long random string, so a
    plain hash is enough: there is nothing to guess), with a short prefix that lets
    people tell their tokens apart in listings.
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The token's first characters.")
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField()
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    # When the token was revoked; null while it is in force.
    revoked = models.DateTimeField(null=True, blank=True)
    # read: GET and HEAD only; write: everything its agent may do.  Nullable, and
    # null means write: the previous release's inserts leave the column out (and
    # no Python default: SQLite would rebuild the table to add one).
    scope = models.CharField(
        max_length=5,
        choices=TokenScope.choices,
        null=True,
        blank=True,
    )

    class Meta:
        db_table = "helpline_api_token"
        ordering = ["agent", "created", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"
