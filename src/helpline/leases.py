"""Leases: locks for periodic jobs that a dead worker cannot keep.

A lease is a row ``(name, holder, expires)`` in the main database, which every worker on
every machine shares whatever the job queue's storage (SQLite file or Redis). A worker
takes the lease before running the job, renews it from a heartbeat thread every third
of its length while the job runs, and deletes it when the job ends. A worker killed
with SIGKILL, or a machine that disappears, stops renewing: the lease expires and the
next run takes it over. A live worker's lease is never broken, however long its job
runs, so starting a worker on one machine does not free the jobs another runs.

Taking a lease over and renewing it are single conditional statements (``UPDATE ...
WHERE expires <= now`` / ``WHERE holder = me``), so two workers racing for an expired
lease cannot both win, and a worker whose lease was taken over cannot renew or delete
the new holder's. Times come from the workers' clocks, which must agree to well within
a lease's length (the periodic time slots already rely on that).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from helpline.models import JobLease

log = logging.getLogger(__name__)


class LeaseBusy(Exception):
    """Another live worker holds the lease (until ``expires``, unless it renews it)."""

    def __init__(self, name: str, holder: str, expires: datetime) -> None:
        super().__init__(f"{name} is held by {holder} until {expires.isoformat()}")
        self.name, self.holder, self.expires = name, holder, expires


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    seconds: float

    def renew(self) -> bool:
        """Push the expiry on; False when the lease is no longer ours (it expired and
        another worker took it over)."""
        expires = timezone.now() + timedelta(seconds=self.seconds)
        mine = JobLease.objects.filter(name=self.name, holder=self.holder)
        return mine.update(expires=expires) == 1

    def release(self) -> None:
        JobLease.objects.filter(name=self.name, holder=self.holder).delete()


def acquire(name: str, seconds: float) -> Lease:
    """Take the lease ``name`` for ``seconds``, or take over an expired one; raise
    ``LeaseBusy`` while another worker holds it."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    while True:
        now = timezone.now()
        expires = now + timedelta(seconds=seconds)
        expired = JobLease.objects.filter(name=name, expires__lte=now)
        stale = list(expired.values_list("holder", "expires"))
        if expired.update(holder=holder, acquired=now, expires=expires):
            for dead, when in stale:
                log.warning(
                    "lease %s of %s expired at %s (worker gone?); taken over by %s",
                    name,
                    dead,
                    when.isoformat(),
                    holder,
                )
            return Lease(name, holder, seconds)
        try:
            with transaction.atomic():
                JobLease.objects.create(
                    name=name, holder=holder, acquired=now, expires=expires
                )
        except IntegrityError:
            current = JobLease.objects.filter(name=name).first()
            if current is None:  # released between our statements: try again
                continue
            raise LeaseBusy(name, current.holder, current.expires) from None
        return Lease(name, holder, seconds)


@contextmanager
def held(name: str, seconds: float) -> Iterator[Lease]:
    """Hold the lease ``name`` while the block runs, renewing it every third of
    ``seconds``; raise ``LeaseBusy`` (before the block) while another worker holds it."""
    lease = acquire(name, seconds)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(lease, stop), name=f"lease {name}", daemon=True
    )
    beat.start()
    try:
        yield lease
    finally:
        stop.set()
        beat.join()
        lease.release()


def _heartbeat(lease: Lease, stop: threading.Event) -> None:
    lost = False
    try:
        while not stop.wait(lease.seconds / 3):
            try:
                ours = lease.renew()
            except DatabaseError:  # e.g. SQLite busy: the next beat tries again
                log.warning("could not renew lease %s", lease.name, exc_info=True)
                continue
            if not ours and not lost:
                lost = True
                log.error(
                    "lease %s expired while %s still runs the job; another worker "
                    "may start it",
                    lease.name,
                    lease.holder,
                )
    finally:
        connections.close_all()  # this thread's connections only
