"""Queues and the system addresses mail is received at and sent from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from helpline.models.fields import DefaultedBooleanField, DefaultedCharField

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable


class FollowUpOption(models.TextChoices):
    POSSIBLE = "possible", "possible (reopen the ticket)"
    REJECT = "reject", "reject (store, answer with the reject response)"
    NEW_TICKET = "new_ticket", "new ticket"


class Queue(models.Model):
    # Hierarchy by name, as OTRS: "Parent::Child".  Nothing is inherited.
    name = models.CharField(max_length=200, unique=True)
    group = models.ForeignKey(
        "helpline.Group", on_delete=models.PROTECT, related_name="queues"
    )
    system_address = models.ForeignKey(
        "helpline.SystemAddress",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Sender of outgoing mail from this queue.",
    )
    salutation = models.ForeignKey(
        "helpline.Salutation", on_delete=models.SET_NULL, null=True, blank=True
    )
    signature = models.ForeignKey(
        "helpline.Signature", on_delete=models.SET_NULL, null=True, blank=True
    )
    follow_up = models.CharField(
        max_length=20, choices=FollowUpOption.choices, default=FollowUpOption.POSSIBLE
    )
    follow_up_lock = models.BooleanField(
        default=False,
        help_text="A follow-up that reopens a closed ticket locks it to its last owner.",
    )
    trust_subject_number = models.BooleanField(
        default=False,
        help_text=(
            "Accept a ticket number in the subject from a sender who has never taken "
            "part in the ticket. Off: such mail opens a new ticket linked to the old one."
        ),
    )
    unlock_timeout = models.PositiveIntegerField(
        default=0,
        help_text="Minutes after which a locked ticket is unlocked; 0 = never.",
    )
    comment = models.TextField(blank=True)
    valid = models.BooleanField(default=True)
    # Retention (docs/data-protection.md): closed tickets are removed this many days
    # after they were closed; in a junk queue, every ticket this many days after its
    # last change, whatever its state.  Empty: kept for ever.
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Days after closing (in a junk queue: after the last change) when a "
            "ticket is removed; empty = kept for ever."
        ),
    )
    # Nullable (never null: the database's default fills it) only so that the column
    # is added without rewriting the table (docs/upgrading.md, rule 5); the same
    # for ``junk`` and ``Ticket.legal_hold``.
    # Typed as never None (the database default fills it).
    retention_action: models.CharField[str | Combinable, str] = DefaultedCharField(
        max_length=10,
        choices=[("delete", "delete"), ("anonymise", "anonymise")],
        null=True,
        # A Value, not a bare constant: SQLite then adds the column in place.
        db_default=models.Value("delete"),
    )
    junk: models.BooleanField[bool | Combinable, bool] = DefaultedBooleanField(
        null=True,
        db_default=models.Value(False),
        help_text="Holds junk (spam): retention counts from the last change, any state.",
    )
    # Where "Spam" moves this queue's tickets and the pipeline puts the mail it judges
    # spam (docs/spam.md); empty: the queue named by HELPLINE_JUNK_QUEUE.
    junk_queue = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=(
            "Where 'Spam' moves this queue's tickets; empty = the queue named by "
            "HELPLINE_JUNK_QUEUE."
        ),
    )
    # Counts and ages of the queue's open tickets on the public backlog page, for
    # anyone (docs/reports.md); off: the page does not name the queue at all.
    public_backlog: models.BooleanField[bool | Combinable, bool] = (
        DefaultedBooleanField(
            null=True,
            db_default=models.Value(False),
            help_text="Show counts and ages of open tickets on the public backlog page.",
        )
    )
    # The service level of the queue's tickets (docs/service-levels.md); set through
    # ``actions.service_levels`` (its tickets' escalation times are recomputed).
    service_level = models.ForeignKey(
        "helpline.ServiceLevel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="queues",
    )
    # The group that the search index entries of the queue's tickets name (on
    # PostgreSQL, to narrow searches to what an agent may read; search.md).  It
    # differs from ``group`` after the queue changed group, until a job has rebuilt
    # those entries; searches meanwhile ask the index for the queue itself.
    search_group = models.ForeignKey(
        "helpline.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        db_table = "helpline_queue"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if self._state.adding and self.search_group_id is None:
            self.search_group_id = self.group_id  # no tickets, no entries yet
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def parent_name(self) -> str | None:
        head, sep, _ = self.name.rpartition("::")
        return head if sep else None

    @property
    def depth(self) -> int:
        return self.name.count("::")


class SystemAddress(models.Model):
    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        related_name="addresses",
        help_text="Mail to this address opens tickets in this queue.",
    )
    valid = models.BooleanField(default=True)

    class Meta:
        db_table = "helpline_system_address"
        ordering = ["email"]
        verbose_name_plural = "system addresses"

    def __str__(self) -> str:
        return (
            f"{self.display_name} <{self.email}>" if self.display_name else self.email
        )

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]
