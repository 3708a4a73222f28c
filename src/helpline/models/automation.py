"""Automation jobs (what OTRS calls GenericAgent): a search, a trigger, actions.

docs/automation.md.  A job acts through its own account (``actor``: an inactive user
named ``job:NAME`` that cannot sign in), so that every change it makes is in the
ticket's history under the job's name; it reaches only the tickets its ``owner`` (an
administrator) may read, in the queues it names.  Ticket ids here are plain numbers,
not foreign keys: a job's records never keep a ticket from being removed, and hold
no content (no numbers, no addresses).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AutomationJob(models.Model):
    name = models.CharField(max_length=100, unique=True)
    comment = models.TextField(blank=True)
    valid = models.BooleanField(default=True)
    # The administrator on whose behalf the job acts: it reaches no ticket this
    # agent may not read, and does nothing the agent's permissions would refuse.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The job's own account, the actor of its changes in the tickets' history.
    actor = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The only queues the job searches and moves tickets into.
    queues = models.ManyToManyField("helpline.Queue", related_name="+")
    # The search (docs/search.md) and ages in days (a ticket matches when the time
    # is at least that long ago); None: no condition.
    query = models.TextField(blank=True)
    created_days = models.PositiveIntegerField(null=True, blank=True)
    changed_days = models.PositiveIntegerField(null=True, blank=True)
    pending_days = models.PositiveIntegerField(null=True, blank=True)
    closed_days = models.PositiveIntegerField(null=True, blank=True)
    # "manual", "schedule" (``schedule`` is a cron line) or an event
    # (automation.triggers).
    trigger = models.CharField(max_length=40, default="manual")
    schedule = models.CharField(max_length=100, blank=True)
    # [{"do": "move", "queue": "Junk"}, ...] (automation.steps).
    actions = models.JSONField(default=list)
    # Act on a ticket at most once, ever (reminders): tickets an earlier run
    # changed no longer match.
    once_per_ticket = models.BooleanField(default=False)
    # Event triggers: the last event (history entry or automation event id) seen.
    event_cursor = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    changed = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "helpline_automation_job"
        ordering = ["name"]
        verbose_name = "automation job"

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class AutomationRun(models.Model):
    """One run of a job: when, why, how many tickets, which errors."""

    job = models.ForeignKey(
        AutomationJob, on_delete=models.CASCADE, related_name="runs"
    )
    trigger = models.CharField(max_length=40)
    # A scheduled run's minute: a job runs once per matching minute across workers.
    slot = models.DateTimeField(null=True, blank=True)
    # An event run's tickets (ids); None: every ticket the search finds.
    candidates = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # The highest ticket id handled so far (the run goes in id order): a resumed
    # run goes on from here.
    cursor = models.BigIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # [{"ticket": id, "error": "..."}], the first ``runner.KEEP_ERRORS``.
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "helpline_automation_run"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "slot"],
                condition=models.Q(slot__isnull=False),
                name="automation_run_slot",
            )
        ]
        indexes = [models.Index(fields=["status"], name="automation_run_status")]

    def __str__(self) -> str:
        return f"{self.job_id} run {self.pk} ({self.status})"


class AutomationTicket(models.Model):
    """What one run did to one ticket: written in the transaction of the change, so
    a run that stopped half-way knows, on resuming, what it has done."""

    run = models.ForeignKey(AutomationRun, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(AutomationJob, on_delete=models.CASCADE, related_name="+")
    ticket_id = models.BigIntegerField()
    ok = models.BooleanField(default=True)
    # What was done, step by step ("state: closed successful"); or the error.
    done = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "helpline_automation_ticket"
        constraints = [
            models.UniqueConstraint(
                fields=["run", "ticket_id"], name="automation_ticket_once"
            )
        ]
        indexes = [models.Index(fields=["job", "ticket_id"], name="automation_job_tk")]

    def __str__(self) -> str:
        return f"run {self.run_id}: ticket {self.ticket_id}"


class AutomationSend(models.Model):
    """A job's mail to a ticket's customer: at most one per job and ticket, ever."""

    job = models.ForeignKey(AutomationJob, on_delete=models.CASCADE, related_name="+")
    ticket_id = models.BigIntegerField()
    run = models.ForeignKey(
        AutomationRun, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "helpline_automation_send"
        constraints = [
            models.UniqueConstraint(
                fields=["job", "ticket_id"], name="automation_send_once"
            )
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} wrote to ticket {self.ticket_id}"


class AutomationEvent(models.Model):
    """An announced event that jobs may trigger on (an escalation): written when it
    is announced, read by the event jobs in id order."""

    kind = models.CharField(max_length=40)
    ticket_id = models.BigIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "helpline_automation_event"
        indexes = [models.Index(fields=["kind", "id"], name="automation_event_kind")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"
