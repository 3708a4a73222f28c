"""Tickets, their states, links, watchers and the ticket-number counter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

from helpline.models.fields import DefaultedBooleanField
from helpline.models.permissions import Grant

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models.expressions import Combinable


class StateType(models.TextChoices):
    NEW = "new", "new"
    OPEN = "open", "open"
    PENDING_REMINDER = "pending_reminder", "pending reminder"
    PENDING_AUTO = "pending_auto", "pending auto"
    CLOSED = "closed", "closed"
    MERGED = "merged", "merged"
    REMOVED = "removed", "removed"

    @classmethod
    def open_types(cls) -> list[str]:
        """The state types that count as open (BEHAVIOUR.md section 3)."""
        return [cls.NEW, cls.OPEN, cls.PENDING_REMINDER, cls.PENDING_AUTO]

    @classmethod
    def pending_types(cls) -> list[str]:
        return [cls.PENDING_REMINDER, cls.PENDING_AUTO]


class TicketState(models.Model):
    """A configurable state row; its type decides what the state means."""

    name = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=20, choices=StateType.choices)
    # For pending-auto states: the state the ticket goes to when the time has passed.
    next_state = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    valid = models.BooleanField(default=True)

    class Meta:
        db_table = "helpline_ticket_state"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.type in StateType.open_types()

    @property
    def is_pending(self) -> bool:
        return self.type in StateType.pending_types()


class Priority(models.IntegerChoices):
    VERY_LOW = 1, "1 very low"
    LOW = 2, "2 low"
    NORMAL = 3, "3 normal"
    HIGH = 4, "4 high"
    VERY_HIGH = 5, "5 very high"


def visible_tickets_q(agent: User) -> models.Q:
    """The filter behind ``Ticket.objects.visible_to(agent)``: every ticket of a queue
    in a group the agent may read (``Grant.objects.readable_group_ids``), and no
    other.  Lists of the agent's own tickets (owned, watched, ...) are these,
    filtered further.  ``actions.access`` answers every other question of access."""
    if not agent.is_active or agent.pk is None:
        return models.Q(pk__in=[])
    return models.Q(queue__group_id__in=Grant.objects.readable_group_ids(agent))


class TicketQuerySet(models.QuerySet["Ticket"]):
    def visible_to(self, agent: User) -> TicketQuerySet:
        """Tickets the agent may see: the one filter every list, search and feed uses."""
        return self.filter(visible_tickets_q(agent))

    def open(self) -> TicketQuerySet:
        return self.filter(state_type__in=StateType.open_types())


class Ticket(models.Model):
    number = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=255)
    queue = models.ForeignKey(
        "helpline.Queue", on_delete=models.PROTECT, related_name="tickets"
    )
    state = models.ForeignKey(TicketState, on_delete=models.PROTECT, related_name="+")
    # Denormalised from state.type, kept in step by the actions: queue views filter on
    # it with an index and without a join.
    state_type = models.CharField(max_length=20, choices=StateType.choices)
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.NORMAL
    )
    locked = models.BooleanField(default=False)
    # When the current lock was taken (the unlock timeout counts from here).
    locked_at = models.DateTimeField(null=True, blank=True)
    # When the reminder for the current pending time was sent.
    reminded_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_tickets",
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responsible_tickets",
    )
    customer = models.ForeignKey(
        "helpline.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    pending_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField()
    changed = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    archived = models.BooleanField(default=False)
    # A legal hold stops retention and erasure from removing the ticket.
    # Never null (the database's default fills it): nullable only so that the column
    # is added to the big table without rewriting it (docs/upgrading.md, rule 5).
    legal_hold: models.BooleanField[bool | Combinable, bool] = DefaultedBooleanField(
        null=True, db_default=models.Value(False)
    )
    # When retention or an erasure anonymised it (``actions.removal``): the row stays
    # for reports, its content is gone, and retention passes it by from then on.
    anonymised = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Service levels (``actions.service_levels``, docs/service-levels.md): when each
    # running clock reaches its target, and the earliest of them (the escalation
    # time).  Empty: no target, met, or the clock stopped (pending, closed).
    first_response_due = models.DateTimeField(null=True, blank=True)
    update_due = models.DateTimeField(null=True, blank=True)
    solution_due = models.DateTimeField(null=True, blank=True)
    escalation_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change: the ETag of the API and the collision check of the UI.
    version = models.PositiveIntegerField(default=1)

    objects = TicketQuerySet.as_manager()

    class Meta:
        db_table = "helpline_ticket"
        indexes = [
            # Queue view: open, unlocked tickets of the visible queues.
            models.Index(
                fields=["queue", "state_type", "locked", "-priority", "created"],
                name="ticket_queue_view",
            ),
            # The queue view's page in its order, read from the index and stopped
            # after a page, however many tickets are open (its condition is what
            # ``open()`` filters on, which is how PostgreSQL knows it may use it).
            models.Index(
                fields=["queue", "locked", "-priority", "created", "id"],
                condition=models.Q(state_type__in=StateType.open_types()),
                name="ticket_open_queue",
            ),
            models.Index(fields=["owner", "state_type"], name="ticket_owner"),
            models.Index(fields=["responsible", "state_type"], name="ticket_resp"),
            models.Index(fields=["customer", "-created"], name="ticket_customer"),
            models.Index(fields=["state_type", "pending_until"], name="ticket_pending"),
            models.Index(
                fields=["archived", "state_type", "closed_at"], name="ticket_arch"
            ),
            # Newest first, to the last column of the order (search, lists): a
            # page is read in index order and stops when full, without sorting
            # tickets changed at the same moment (docs/performance.md).
            models.Index(fields=["-changed", "-id"], name="ticket_changed_id"),
            # Retention (``actions.retention``): the closed tickets of a queue due
            # for removal, oldest first, and in a junk queue every ticket by its
            # last change; read as a range of the queue's entries, so the nightly
            # preview and run cost what is due, not what is kept.
            models.Index(
                fields=["queue", "state_type", "closed_at", "id"],
                condition=models.Q(legal_hold=False, anonymised__isnull=True),
                name="ticket_retention",
            ),
            models.Index(
                fields=["queue", "changed", "id"],
                condition=models.Q(legal_hold=False, anonymised__isnull=True),
                name="ticket_retention_junk",
            ),
            # The queue view sorted by escalation time (unlocked first, as
            # QUEUE_ORDER): a page read in index order, like ticket_open_queue.
            models.Index(
                fields=["queue", "locked", "escalation_at", "id"],
                condition=models.Q(state_type__in=StateType.open_types()),
                name="ticket_open_escalation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state_type in StateType.open_types()


class TicketCounter(models.Model):
    """The counter behind ticket numbers; one row per day (date generators) or one row.

    Incremented under a row lock in the transaction that creates the ticket, so numbers
    are unique under concurrency and a rolled-back creation leaves no gap.
    """

    key = models.CharField(max_length=20, unique=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "helpline_ticket_counter"

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class LinkType(models.TextChoices):
    NORMAL = "normal", "normal"
    PARENT_CHILD = "parent_child", "parent / child"


class TicketLink(models.Model):
    # For parent_child, source is the parent.  Normal links are stored once, with the
    # lower id as source, so a pair cannot be linked twice in opposite directions.
    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=20, choices=LinkType.choices)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        db_table = "helpline_ticket_link"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "type"], name="ticket_link_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")),
                name="ticket_link_not_self",
            ),
        ]
        indexes = [models.Index(fields=["target"])]

    def __str__(self) -> str:
        return f"{self.source_id} -{self.type}-> {self.target_id}"


class TicketWatcher(models.Model):
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="watchers"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watching"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "helpline_ticket_watcher"
        constraints = [
            models.UniqueConstraint(fields=["ticket", "agent"], name="watcher_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agent} watches {self.ticket_id}"
