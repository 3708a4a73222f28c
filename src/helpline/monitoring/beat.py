"""The worker's heartbeat: a row per ``helpline worker`` process, written periodically.

A thread of the worker process writes the row every ``HELPLINE_WORKER_BEAT_SECONDS``
with the counts of jobs done and failed (from Huey's signals).  A worker that hangs or
dies stops beating; ``/metrics`` and ``helpline status`` show how old its beat is.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from huey import signals

from helpline.models import WorkerBeat

log = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=7)


class Heartbeat:
    def __init__(self, huey: Any, *, name: str | None = None) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.started = timezone.now()
        self.done = 0
        self.failed = 0
        self.last_failure = ""
        self.last_failure_at: datetime | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        huey.signal(signals.SIGNAL_COMPLETE)(self._completed)
        huey.signal(signals.SIGNAL_ERROR)(self._errored)

    def _completed(self, signal: str, task: Any) -> None:
        with self._lock:
            self.done += 1

    def _errored(
        self, signal: str, task: Any, exc: BaseException | None = None
    ) -> None:
        with self._lock:
            self.failed += 1
            self.last_failure = f"{task.name} {task.id}: {type(exc).__name__}: {exc}"[
                :2000
            ]
            self.last_failure_at = timezone.now()

    def start(self) -> None:
        # Rows of workers gone for a week are of no use to anyone: one delete per start.
        try:
            WorkerBeat.objects.filter(beat__lt=timezone.now() - FORGET_AFTER).delete()
        except Exception as exc:
            log.warning("forgetting old worker heartbeats failed: %s", exc)
        self.beat()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.beat(stopped=True)

    def beat(self, *, stopped: bool = False) -> None:
        with self._lock:
            values = {
                "started": self.started,
                "beat": timezone.now(),
                "jobs_done": self.done,
                "jobs_failed": self.failed,
                "last_failure": self.last_failure,
                "last_failure_at": self.last_failure_at,
                "stopped": stopped,
            }
        try:
            WorkerBeat.objects.update_or_create(name=self.name, defaults=values)
        except Exception as exc:
            # The database may be away for a while; the next beat tries again.
            log.warning("writing the worker's heartbeat failed: %s", exc)

    def _run(self) -> None:
        interval = max(settings.HELPLINE_WORKER_BEAT_SECONDS, 1)
        while not self._stop.wait(interval):
            self.beat()
            # The beat's thread holds no connection between beats.
            connection.close()
