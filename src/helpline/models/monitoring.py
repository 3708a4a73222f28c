"""Heartbeats of the background workers, read by /metrics and ``helpline status``."""

from __future__ import annotations

from django.db import models


class WorkerBeat(models.Model):
    """One ``helpline worker`` process: when it last beat, what its jobs did.

    The worker writes its row every ``HELPLINE_WORKER_BEAT_SECONDS``; a row whose beat
    is old belongs to a worker that stopped or hangs.  The counts are the process's
    own since it started.
    """

    name = models.CharField(max_length=200, unique=True)  # host:pid
    started = models.DateTimeField()
    beat = models.DateTimeField()
    jobs_done = models.PositiveBigIntegerField(default=0)
    jobs_failed = models.PositiveBigIntegerField(default=0)
    last_failure = models.TextField(blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    stopped = models.BooleanField(default=False)

    class Meta:
        db_table = "helpline_worker_beat"
        indexes = [models.Index(fields=["beat"], name="worker_beat_beat")]

    def __str__(self) -> str:
        return f"worker {self.name} (beat {self.beat:%H:%M:%S})"
