"""Agents (Django users with a profile) and customers (email identities)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

from helpline.models.fields import DefaultedBooleanField, DefaultedCharField

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    language = models.CharField(max_length=10, default="en")
    # The agent's time zone (an IANA name such as Europe/Berlin); empty: the site's
    # (settings.TIME_ZONE).  Pages and mails to the agent show times in it
    # (docs/web.md, "Languages"); the API keeps UTC.
    time_zone: models.CharField[str | Combinable, str] = DefaultedCharField(
        max_length=64, blank=True, null=True, db_default=models.Value("")
    )
    followed_queues = models.ManyToManyField(
        "helpline.Queue", blank=True, related_name="followers"
    )
    # Notification kinds the agent switched off (names from actions.notify).
    notifications_off = models.JSONField(default=list, blank=True)
    article_order = models.CharField(
        max_length=6,
        choices=[("newest", "newest first"), ("oldest", "oldest first")],
        default="newest",
    )
    # When the agent was warned that it would be deactivated for inactivity
    # (docs/administration.md); cleared when it is active again.
    inactivity_warned = models.DateTimeField(null=True, blank=True)

    # The weekly report mail (docs/reports.md): subscribed, and the Monday of the
    # week whose mail went out last (so a second run in a week sends nothing).
    report_mail: models.BooleanField[bool | Combinable, bool] = DefaultedBooleanField(
        null=True, db_default=models.Value(False)
    )
    report_mail_week = models.DateField(null=True, blank=True)

    class Meta:
        db_table = "helpline_agent_profile"

    def __str__(self) -> str:
        return f"profile of {self.user}"


class Customer(models.Model):
    email = models.CharField(max_length=320, unique=True)
    name = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "helpline_customer"
        ordering = ["email"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email
