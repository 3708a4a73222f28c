"""Service levels: business calendars, the targets of a queue (or one ticket), and
what the escalation notifications of a ticket have told (docs/service-levels.md)."""

from __future__ import annotations

from django.db import models


class Calendar(models.Model):
    """When the clock of a service level runs: working hours per weekday in a time
    zone, less the public holidays of a country (or region) and added dates."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # {"mon": ["09:00-17:00"], ...}: the stored form of ``sla.calendar.parse_hours``.
    hours = models.JSONField(default=dict)
    # ISO 3166 country and subdivision codes of the ``holidays`` library ("DE", "BY").
    country = models.CharField(max_length=3, blank=True)
    subdivision = models.CharField(max_length=10, blank=True)
    # Further days off ("2026-12-24"), as ISO dates.
    extra_holidays = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        db_table = "helpline_calendar"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceLevel(models.Model):
    """Targets in business minutes of ``calendar``; empty: no such target."""

    name = models.CharField(max_length=100, unique=True)
    calendar = models.ForeignKey(
        Calendar, on_delete=models.PROTECT, related_name="service_levels"
    )
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    update_minutes = models.PositiveIntegerField(null=True, blank=True)
    solution_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Agents are warned this many business minutes before a target is reached.
    warning_minutes = models.PositiveIntegerField(default=30)
    comment = models.TextField(blank=True)

    class Meta:
        db_table = "helpline_service_level"
        ordering = ["name"]
        verbose_name = "service level"

    def __str__(self) -> str:
        return self.name


class TicketServiceLevel(models.Model):
    """A ticket's own service level (overriding its queue's) and the notifications of
    its clocks: each clock period is warned of and escalated once."""

    ticket = models.OneToOneField(
        "helpline.Ticket",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="service_level_state",
    )
    service_level = models.ForeignKey(
        ServiceLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Clock periods ("first_response@2026-03-27T09:00:00+00:00") already warned
    # of, and already escalated.
    warned = models.JSONField(default=list, blank=True)
    escalated = models.JSONField(default=list, blank=True)
    # When the next notification is due; the worker's job reads this index.
    alert_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        db_table = "helpline_ticket_service_level"

    def __str__(self) -> str:
        return f"service level of {self.ticket_id}"
