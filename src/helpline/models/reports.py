"""Report aggregates (docs/reports.md): one fact row per ticket and one row of sums
per day, queue and agent, kept up to date by the worker from the tickets changed
since its last run (``actions.reports_aggregate``)."""

from __future__ import annotations

from django.db import models


class ReportTicket(models.Model):
    """What the reports count of one ticket, as last aggregated.  The aggregator
    compares a ticket's new facts with these and applies the difference to
    ``ReportDay``, in one transaction: running it twice changes nothing."""

    # No foreign keys: the figures outlive a ticket removed by retention.
    ticket_id = models.BigIntegerField(primary_key=True)
    queue_id = models.IntegerField()
    created = models.DateTimeField()
    first_response = models.DateTimeField(null=True)
    first_responder_id = models.IntegerField(null=True)
    closed = models.DateTimeField(null=True)
    owner_id = models.IntegerField(null=True)
    # Open now (its backlog interval has no end).
    open = models.BooleanField(default=True)

    class Meta:
        db_table = "helpline_report_ticket"

    def __str__(self) -> str:
        return f"report facts of ticket {self.ticket_id}"


class ReportDay(models.Model):
    """Sums of one day (in ``TIME_ZONE``) for one queue: ``agent_id`` 0 for the whole
    queue, else the figures attributed to that agent.  Histograms are sparse
    ``{bucket: count}`` (``actions.reports_histogram``); ``backlog_delta`` holds,
    per backlog age bucket, how the end-of-day count changes on this day (the
    backlog of a day is the sum of the deltas up to it)."""

    day = models.DateField()
    queue_id = models.IntegerField()
    agent_id = models.IntegerField(default=0)
    received = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    first_response_hist = models.JSONField(default=dict)
    handling_hist = models.JSONField(default=dict)
    backlog_delta = models.JSONField(default=dict)

    class Meta:
        db_table = "helpline_report_day"
        constraints = [
            models.UniqueConstraint(
                fields=["agent_id", "day", "queue_id"], name="report_day_key"
            )
        ]

    def __str__(self) -> str:
        return f"report {self.day} queue {self.queue_id} agent {self.agent_id}"


class ReportCursor(models.Model):
    """Where the aggregator stopped: the ``changed`` time and id of the last ticket
    it aggregated (one row, id 1)."""

    changed = models.DateTimeField(null=True)
    ticket_id = models.BigIntegerField(default=0)

    class Meta:
        db_table = "helpline_report_cursor"

    def __str__(self) -> str:
        return f"reports aggregated to {self.changed}"
