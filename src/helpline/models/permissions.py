"""Groups, roles and the grants that give agents access to the queues of a group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models

from helpline.replica import primary_values

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class Permission(models.TextChoices):
    """The registered permissions (BEHAVIOUR.md section 4).

    ``rw`` implies every other permission except ``override_lock`` and ``redact``: a
    lock must mean something between agents who all have ``rw``, so taking over
    another agent's locked ticket is a right of its own, granted explicitly (typically
    to queue leads); removing content for good (an identity document sent by mistake)
    is one too (docs/data-protection.md).  ``manage`` makes a queue coordinator:
    grant and withdraw the group's permissions to agents (all but ``manage``) and
    edit the templates of its queues (docs/administration.md); it opens no ticket.
    """

    RO = "ro", "read only"
    MOVE_INTO = "move_into", "move into"
    CREATE = "create", "create"
    NOTE = "note", "add notes"
    OWNER = "owner", "be owner"
    PRIORITY = "priority", "change priority"
    RW = "rw", "read and write"
    OVERRIDE_LOCK = "override_lock", "override another agent's lock"
    REDACT = "redact", "redact content"
    MANAGE = "manage", "manage the group's agents and templates"

    @classmethod
    def explicit_only(cls) -> frozenset[str]:
        """The permissions ``rw`` does not imply: only their own grant gives them."""
        return frozenset({cls.OVERRIDE_LOCK.value, cls.REDACT.value, cls.MANAGE.value})


class Group(models.Model):
    name = models.CharField(max_length=200, unique=True)
    comment = models.TextField(blank=True)
    valid = models.BooleanField(default=True)

    class Meta:
        db_table = "helpline_group"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    name = models.CharField(max_length=200, unique=True)
    comment = models.TextField(blank=True)
    valid = models.BooleanField(default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="helpline_roles", blank=True
    )

    class Meta:
        db_table = "helpline_role"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GrantQuerySet(models.QuerySet["Grant"]):
    def held_by(self, agent: User) -> GrantQuerySet:
        """The grants an agent holds: its own, and those of its roles that are
        switched on, on groups that are switched on.  Grants add up; no deny."""
        return self.filter(
            models.Q(agent=agent) | models.Q(role__members=agent, role__valid=True),
            group__valid=True,
        )

    def reading(self) -> GrantQuerySet:
        """The grants that let their holder read (``ro``, or ``rw`` which implies it)."""
        return self.filter(permission__in=(Permission.RO, Permission.RW))

    def readable_group_ids(
        self, agent: User
    ) -> models.QuerySet[Grant, Any] | list[Any]:
        """The groups whose queues ``agent`` may read, as a subquery (never a long
        list): the one rule of reading (docs/permissions.md).  While a view reads
        from the replica, the primary's list instead (helpline/replica.py)."""
        return primary_values(self.held_by(agent).reading(), "group_id")


class Grant(models.Model):
    """One permission on one group, to an agent or to a role (exactly one of them)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="grants")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="helpline_grants",
    )
    role = models.ForeignKey(
        Role, on_delete=models.CASCADE, null=True, blank=True, related_name="grants"
    )
    permission = models.CharField(max_length=20, choices=Permission.choices)

    objects = GrantQuerySet.as_manager()

    class Meta:
        db_table = "helpline_grant"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(agent__isnull=False, role__isnull=True)
                    | models.Q(agent__isnull=True, role__isnull=False)
                ),
                name="grant_agent_xor_role",
            ),
            models.UniqueConstraint(
                fields=["group", "agent", "permission"],
                condition=models.Q(agent__isnull=False),
                name="grant_unique_agent",
            ),
            models.UniqueConstraint(
                fields=["group", "role", "permission"],
                condition=models.Q(role__isnull=False),
                name="grant_unique_role",
            ),
        ]
        indexes = [models.Index(fields=["agent", "permission"])]

    def __str__(self) -> str:
        who = self.agent or self.role
        return f"{who}: {self.permission} on {self.group}"
