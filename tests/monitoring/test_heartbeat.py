"""The worker's heartbeat row: jobs done and failed, counted from Huey's signals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from huey import MemoryHuey

from helpline.models import WorkerBeat
from helpline.monitoring.beat import Heartbeat
from helpline.monitoring.gauges import take_snapshot


@pytest.mark.django_db
def test_the_heartbeat_counts_jobs_done_and_failed(settings):
    settings.HELPLINE_WORKER_BEAT_SECONDS = 15
    huey = MemoryHuey(immediate=True)

    @huey.task()
    def divide(a: int, b: int) -> float:
        return a / b

    heartbeat = Heartbeat(huey, name="test-host:1")
    heartbeat.beat()
    divide(4, 2)
    divide(1, 0)  # raises in the job: one failure
    divide(9, 3)
    heartbeat.beat()

    row = WorkerBeat.objects.get(name="test-host:1")
    assert (row.jobs_done, row.jobs_failed) == (2, 1)
    assert "ZeroDivisionError" in row.last_failure
    snap = take_snapshot()
    assert snap.job_failures == 1 and snap.workers_alive == 1

    # Silent for longer than three intervals: listed, but not alive.
    WorkerBeat.objects.filter(pk=row.pk).update(beat=row.beat - timedelta(seconds=46))
    silent = take_snapshot()
    assert silent.workers_alive == 0
    assert silent.workers[0].age_seconds > 45
    heartbeat.beat(stopped=True)
    assert take_snapshot().workers[0].stopped
