"""The state of the mail pipeline and the workers, read from the database.

Four queries, whatever the amount of history: the messages waiting or quarantined,
those received in the last hour by status (both by the ``inbound_status`` index on
(status, received): what is read grows with the backlog and the last hour's traffic,
never with the years of processed mail), the outbox's unsent rows by status (the
``outbox_due`` index; sent rows are not read) and the workers' heartbeats of the last
day.  Counting every processed message instead would read the whole table at each
scrape: 64-99 ms at 100 000 messages on PostgreSQL, growing with it
(docs/monitoring.md).  ``/metrics`` reads it at each scrape and ``helpline status``
prints it.
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

QUERIES_PER_SNAPSHOT = 4
RECENT = timedelta(hours=1)
# The statuses a message stays in until someone acts: counted whatever their age.
PENDING = (InboundStatus.RECEIVED, InboundStatus.QUARANTINED)
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
    inbound: dict[str, int] = field(default_factory=dict)  # received, quarantined
    last_hour: dict[str, int] = field(default_factory=dict)  # every status
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
    snap.inbound = {status: 0 for status in PENDING}
    for row in (
        InboundMessage.objects.filter(status__in=PENDING)
        .values("status")
        .annotate(n=Count("*"), oldest=Min("received"))
    ):
        snap.inbound[row["status"]] = row["n"]
        if row["status"] == InboundStatus.RECEIVED and row["oldest"]:
            snap.oldest_waiting_seconds = _age(now, row["oldest"])
    snap.last_hour = {status: 0 for status in InboundStatus.values}
    for row in (
        # Every status named: the index's (status, received) ranges, one per status.
        InboundMessage.objects.filter(
            status__in=InboundStatus.values, received__gte=now - RECENT
        )
        .values("status")
        .annotate(n=Count("*"))
    ):
        snap.last_hour[row["status"]] = row["n"]
    unsent = [OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED]
    snap.outbox = {status: 0 for status in unsent}
    oldest = None
    for row in (
        OutboxMessage.objects.filter(status__in=unsent)
        .values("status")
        .annotate(n=Count("*"), oldest=Min("created"))
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
