"""Which periodic job ran in which time slot: one run per slot across all workers."""

from __future__ import annotations

from django.db import models


class PeriodicRun(models.Model):
    """A periodic job's claim on one slot of its schedule (e.g. the 12:05 run).

    Every worker that runs the scheduler enqueues each periodic job; the first to insert
    the (job, slot) row runs it, the others see the unique constraint and skip. The
    table lives in the main database, which every worker on every machine shares.
    """

    job = models.CharField(max_length=100)
    slot = models.DateTimeField()
    started = models.DateTimeField(auto_now_add=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "helpline_periodic_run"
        constraints = [
            models.UniqueConstraint(fields=["job", "slot"], name="periodic_run_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M}"


class JobLease(models.Model):
    """Who runs a periodic job now, until when: a lock that expires.

    A worker takes the lease before running the job and renews it while the job runs;
    a worker that dies (killed, machine lost) stops renewing, the lease expires, and the
    next run takes it over. Like ``PeriodicRun`` it lives in the main database, which
    every worker on every machine shares, whatever the job queue's storage.
    """

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=200)
    acquired = models.DateTimeField()
    expires = models.DateTimeField()

    class Meta:
        db_table = "helpline_job_lease"

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires:%H:%M:%S}"
