"""What an import from another system brought across, for re-runs and continuity.

``ImportedObject`` maps a source row (by kind and the source's key) to the Helpline row
it became: a second run updates that row instead of making another, and a killed run
re-run skips what committed.  ``ImportRun`` records each run: the source's clock when it
began (the next run's watermark), its options and its report (docs/migrating-from-znuny.md).
"""

from __future__ import annotations

from django.db import models


class ImportedObject(models.Model):
    source = models.CharField(
        max_length=100, help_text="The name of the source system (e.g. znuny)."
    )
    kind = models.CharField(max_length=40)  # agent, queue, ticket, article, ...
    source_id = models.CharField(max_length=200)
    # None: seen and deliberately not imported (``note`` says why).
    target_id = models.BigIntegerField(null=True, blank=True)
    # What the source row looked like when imported (its change time or a hash):
    # a re-run updates the target only when this differs.
    stamp = models.CharField(max_length=100, blank=True)
    # Per-kind progress, e.g. a ticket's last imported article and history ids.
    cursor = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "helpline_imported_object"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "kind", "source_id"], name="imported_object_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["source", "kind", "target_id"], name="imported_object_target"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.source_id} -> {self.target_id}"


class ImportRunStatus(models.TextChoices):
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    PARTIAL = "partial", "some phases only"


class ImportRun(models.Model):
    source = models.CharField(max_length=100)
    started = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportRunStatus.choices, default=ImportRunStatus.RUNNING
    )
    options = models.JSONField(default=dict, blank=True)
    # High-water marks read from the source as the run began (the newest ticket
    # change time, the highest article and history ids): a later run reads only what
    # is past the marks of the last run that finished.
    marks = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "helpline_import_run"
        ordering = ["-started"]

    def __str__(self) -> str:
        return f"import from {self.source} at {self.started:%Y-%m-%d %H:%M} ({self.status})"
