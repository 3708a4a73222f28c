"""A worker killed inside a periodic job does not stop that job for good.

Each periodic job runs under a lease (``helpline.leases``) that its worker renews while
the job runs. A real ``helpline worker`` is made to hold every leased job at once, then
killed with SIGKILL; a new worker on the same job storage (the SQLite file, or a private
Redis server) must run every job again at its next slot, within a lease's length. With
Huey's ``lock_task`` (the old code) the dead worker's locks stayed in the storage and the
jobs never ran again.

The workers run ``tests/jobs_worker.py``: it wraps the slot claim, which
each job makes once its lease is taken, to leave a file saying which worker runs which
job and, for the first worker, to keep the job (and so the lease) running until the
test kills it. The second worker's clock for slots is a day ahead: a day is a whole
number of every job's periods, so its copies fall in each job's next slot. The tests
play the scheduler (the workers run without theirs) to enqueue the jobs when they need.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage, SqliteStorage

from helpline import jobs, leases
from helpline.models import JobLease, PeriodicRun
from tests.support import database_url
from tests.test_jobs import redis_url  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
# Long enough that the second worker starts and takes the jobs while the dead worker's
# leases still hold: its copies must retry when they expire.
LEASE_SECONDS = 5
# Every leased periodic job: (its task, the name of its slot claims, its lease).
LEASED = [
    (jobs.send_outbox_periodic, "send_outbox_periodic", "helpline-outbox"),
    (jobs.sweep_inbound, "sweep_inbound", "helpline-sweep-inbound"),
    (jobs.fetch_mail_accounts, "fetch_mail_accounts", "helpline-fetch"),
    (jobs.pending_job, "pending_job", "helpline-pending"),
    (jobs.unlock_job, "unlock_job", "helpline-unlock"),
    (jobs.archive_job, "archive_job", "helpline-archive"),
]


# --- the lease, in one process -------------------------------------------------------
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_live_lease_is_renewed_and_never_taken_over():
    with leases.held("test-lease", 0.6) as lease:
        time.sleep(1.5)  # past its first expiry: the heartbeat renewed it
        with pytest.raises(leases.LeaseBusy):
            leases.acquire("test-lease", 0.6)
        assert JobLease.objects.get(name="test-lease").holder == lease.holder
    assert not JobLease.objects.filter(name="test-lease").exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_free_it():
    dead = leases.acquire("test-lease", 0.2)  # never renewed: its worker is gone
    with pytest.raises(leases.LeaseBusy):
        leases.acquire("test-lease", 0.2)
    time.sleep(0.3)
    alive = leases.acquire("test-lease", 30)
    assert not dead.renew()
    dead.release()
    assert JobLease.objects.get(name="test-lease").holder == alive.holder


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_racing_for_an_expired_lease_cannot_both_win():
    leases.acquire("test-lease", 0.1)
    time.sleep(0.2)
    won, start = [], threading.Barrier(4)

    def race() -> None:
        start.wait()
        try:
            won.append(leases.acquire("test-lease", 30))
        except leases.LeaseBusy:
            pass
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(won) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_copy_that_finds_the_lease_held_retries_within_its_slot(settings):
    settings.HELPLINE_JOB_LEASE_SECONDS = 30
    ran = []

    @jobs.leased_once_per_slot("test-lease", 1440)
    def daily() -> str:
        ran.append(1)
        return "done"

    with leases.held("test-lease", 5), pytest.raises(jobs.RetryTask) as retry:
        daily()
    assert 0 < retry.value.delay <= 6
    assert daily() == "done"
    assert daily() is None  # its slot is taken: nothing runs twice
    assert ran == [1]


# --- real workers, killed -------------------------------------------------------------
@pytest.fixture(params=["sqlite", "redis"])
def storage(request, tmp_path):
    """The job storage the workers share: the SQLite file of one machine's data dir,
    or a private Redis server."""
    name = f"helpline-test-{uuid.uuid4().hex[:12]}"
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        yield name, {"HELPLINE_REDIS_URL": url}, RedisStorage(name=name, url=url)
    else:
        (tmp_path / "data").mkdir()
        filename = str(tmp_path / "data" / "jobs.sqlite3")
        yield name, {}, SqliteStorage(name=name, filename=filename)


# serialized_rollback: the flush after this committing test would take the states the
# migrations seed with it, and the tests after this one need them.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_inside_each_leased_job_does_not_stop_it(tmp_path, storage):
    name, extra_env, huey_storage = storage
    first = _start(tmp_path, name, extra_env, "first", hold=True, days_ahead=0)
    workers = [first]
    saved = (HUEY._immediate, HUEY.storage)
    try:
        HUEY._immediate, HUEY.storage = False, huey_storage
        for task, _, _ in LEASED:
            task()
        _wait_for(
            lambda: all(_ran(tmp_path, job, first) for _, job, _ in LEASED),
            30,
            "the first worker did not start every job",
            tmp_path,
            workers,
        )
        # Alive, the first worker keeps its leases past their length (its heartbeat).
        time.sleep(LEASE_SECONDS * 1.2)
        held = dict(JobLease.objects.values_list("name", "holder"))
        for _, _, lease in LEASED:
            assert f":{first.pid}:" in held.get(lease, ""), (lease, held)

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        second = _start(tmp_path, name, extra_env, "second", hold=False, days_ahead=1)
        workers.append(second)
        # The scheduler enqueues a job at the start of its slot; a copy that finds the
        # lease held near the end of its slot leaves the work to the next slot's copy.
        # Like the scheduler, enqueue well before the end of a minute slot.
        to_minute_end = 60 - time.time() % 60
        if to_minute_end < LEASE_SECONDS + 5:
            time.sleep(to_minute_end + 0.1)
        enqueued = time.monotonic()
        for task, _, _ in LEASED:
            task()
        _wait_for(
            lambda: all(_ran(tmp_path, job, second) for _, job, _ in LEASED),
            # the dead worker's leases expire within LEASE_SECONDS of the kill;
            # the copies that found them held retry when they expire
            LEASE_SECONDS + 20,
            "a job did not run again after the kill",
            tmp_path,
            workers,
        )
        took = time.monotonic() - enqueued
    finally:
        HUEY._immediate, HUEY.storage = saved
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGINT)
        for w in workers:
            try:
                w.wait(timeout=20)
            except subprocess.TimeoutExpired:
                w.kill()
        huey_storage.flush_all()
    # Each job ran once per slot: the killed run's slot and the next one.
    for _, job, _ in LEASED:
        assert PeriodicRun.objects.filter(job=job).count() == 2, job
    assert took < 60  # within the shortest period, a minute
    assert not JobLease.objects.exists()  # the second worker's runs released theirs


def _start(tmp_path, name, extra_env, label, *, hold, days_ahead):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HELPLINE_REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        {
            "HELPLINE_DATABASE_URL": database_url(),
            "HELPLINE_DATA_DIR": str(tmp_path / "data"),
            "HELPLINE_JOBS_NAME": name,
            "HELPLINE_JOBS_IMMEDIATE": "0",
            "HELPLINE_WORKER_THREADS": str(len(LEASED) + 2),
            "HELPLINE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "TEST_JOBS_DIR": str(tmp_path / "ran"),
            "TEST_JOBS_HOLD": "1" if hold else "0",
            "TEST_JOBS_DAYS_AHEAD": str(days_ahead),
            **extra_env,
        }
    )
    (tmp_path / "ran").mkdir(exist_ok=True)
    log = (tmp_path / f"{label}.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs_worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker.label = label  # type: ignore[attr-defined]
    _wait_for(
        lambda: "Huey consumer started" in (tmp_path / f"{label}.log").read_text(),
        60,
        f"the {label} worker did not start",
        tmp_path,
        [worker],
    )
    return worker


def _ran(tmp_path: Path, job: str, worker: subprocess.Popen[str]) -> bool:
    return (tmp_path / "ran" / f"{job}.{worker.pid}").exists()


def _wait_for(check, seconds, failure, tmp_path, workers):
    deadline = time.monotonic() + seconds
    while not check():
        alive = all(w.poll() is None for w in workers if w.returncode != -9)
        if time.monotonic() > deadline or not alive:
            logs = "\n".join(
                f"--- {p.name}\n{p.read_text()}" for p in sorted(tmp_path.glob("*.log"))
            )
            traces = sorted(p.name for p in (tmp_path / "ran").glob("*"))
            raise AssertionError(f"{failure}; ran (job.pid): {traces}\n{logs}")
        time.sleep(0.1)
