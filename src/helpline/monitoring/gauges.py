"""The state of the mail pipeline and the workers, read from the database.

Three queries, whatever the amount of data: inbound messages grouped by status (the
``inbound_status`` index), the outbox's unsent rows grouped by status (the
``outbox_due`` index; sent rows are not read) and the workers' heartbeats of the last
day.  ``/metrics`` reads it at each scrape and ``helpline status`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from helpline.models import (
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    WorkerBeat,
)

QUERIES_PER_SNAPSHOT = 3
# Workers whose last beat is older than this are not listed (nor their failures).
FORGET_WORKERS_AFTER = timedelta(days=1)
# A worker is alive when it beat within this many of its intervals.
BEATS_MISSED_BEFORE_DEAD = 3


@dataclass
class WorkerState:
    name: str
    started: datetime
    beat: datetime
    age_seconds: float
    alive: bool
    stopped: bool
    jobs_done: int
    jobs_failed: int
    last_failure: str
    last_failure_at: datetime | None


@dataclass
class Snapshot:
    taken: datetime
    inbound: dict[str, int] = field(default_factory=dict)
    oldest_waiting_seconds: float = 0.0  # received, not yet processed
    outbox: dict[str, int] = field(default_factory=dict)
    outbox_oldest_seconds: float = 0.0  # queued or being sent
    workers: list[WorkerState] = field(default_factory=list)

    @property
    def quarantined(self) -> int:
        return self.inbound.get(InboundStatus.QUARANTINED, 0)

    @property
    def outbox_backlog(self) -> int:
        return self.outbox.get(OutboxStatus.QUEUED, 0) + self.outbox.get(
            OutboxStatus.SENDING, 0
        )

    @property
    def workers_alive(self) -> int:
        return sum(1 for w in self.workers if w.alive)

    @property
    def job_failures(self) -> int:
        return sum(w.jobs_failed for w in self.workers)

    @property
    def freshest_beat_seconds(self) -> float | None:
        ages = [w.age_seconds for w in self.workers if not w.stopped]
        return min(ages) if ages else None


def take_snapshot() -> Snapshot:
    now = timezone.now()
    snap = Snapshot(taken=now)
    snap.inbound = {status: 0 for status in InboundStatus.values}
    for row in InboundMessage.objects.values("status").annotate(
        n=Count("id"), oldest=Min("received")
    ):
        snap.inbound[row["status"]] = row["n"]
        if row["status"] == InboundStatus.RECEIVED and row["oldest"]:
            snap.oldest_waiting_seconds = _age(now, row["oldest"])
    unsent = [OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED]
    snap.outbox = {status: 0 for status in unsent}
    oldest = None
    for row in (
        OutboxMessage.objects.filter(status__in=unsent)
        .values("status")
        .annotate(n=Count("id"), oldest=Min("created"))
    ):
        snap.outbox[row["status"]] = row["n"]
        if row["status"] != OutboxStatus.FAILED and row["oldest"]:
            oldest = min(oldest or row["oldest"], row["oldest"])
    if oldest is not None:
        snap.outbox_oldest_seconds = _age(now, oldest)
    limit = timedelta(
        seconds=settings.HELPLINE_WORKER_BEAT_SECONDS * BEATS_MISSED_BEFORE_DEAD
    )
    for beat in WorkerBeat.objects.filter(
        beat__gte=now - FORGET_WORKERS_AFTER
    ).order_by("name"):
        age = _age(now, beat.beat)
        snap.workers.append(
            WorkerState(
                name=beat.name,
                started=beat.started,
                beat=beat.beat,
                age_seconds=age,
                alive=not beat.stopped and age <= limit.total_seconds(),
                stopped=beat.stopped,
                jobs_done=beat.jobs_done,
                jobs_failed=beat.jobs_failed,
                last_failure=beat.last_failure,
                last_failure_at=beat.last_failure_at,
            )
        )
    return snap


def _age(now: datetime, then: datetime) -> float:
    return max((now - then).total_seconds(), 0.0)
