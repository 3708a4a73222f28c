"""The administration's own records: who changed the configuration, and the agents
as the administration screens manage them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models


class AdminAuditEntry(models.Model):
    """One change to the configuration (queues, addresses, agents, roles, grants,
    states, texts, filters, mail accounts) or one operation on mail (replay, resend).

    Append-only.  ``before`` and ``after`` summarise the changed fields; secrets (mail
    account passwords, agents' passwords) are never written here, only that they
    changed.
    """

    created = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The actor's login when the change was made (kept if the account goes away);
    # empty for changes made by the command line or the system.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=50, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "helpline_admin_audit"
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["created"], name="admin_audit_created")]
        verbose_name = "administration log entry"
        verbose_name_plural = "administration log"
        # Administration permissions that belong to no single model.
        # ``helpline.handle_unrouted_mail``: read (download) and replay received mail
        # that is on no ticket (the quarantine), and read outbox mail of no ticket.
        permissions = [
            ("handle_unrouted_mail", "Read and replay mail that is on no ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("the administration log is append-only")
        super().save(*args, **kwargs)


class AgentAccount(User):
    """An agent's login account, as the administration screens show it (a proxy of
    Django's user: Django's own user and group screens are not used)."""

    class Meta:
        proxy = True
        verbose_name = "agent"
        verbose_name_plural = "agents"
