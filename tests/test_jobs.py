"""Background jobs: two real workers sharing Redis and the database never run a job twice.

The workers are ``helpline worker`` processes (Huey consumers with their schedulers) on
the suite's database (SQLite in ``make test``, PostgreSQL in CI's second leg) and a
private Redis server the test starts (Debian's ``redis-server``; .ci/system-packages
installs it when missing).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from helpline import jobs
from helpline.mail.intake import receive
from helpline.models import InboundMessage, InboundStatus, PeriodicRun, Ticket
from tests.smtp_sink import free_port
from tests.support import database_url, make_group, make_queue

ROOT = Path(__file__).resolve().parents[1]
HELPLINE = str(Path(sys.executable).parent / "helpline")
REDIS_SERVER = "/usr/bin/redis-server"
MESSAGES = 60
# Huey's log line for each job a worker starts (the consumer also echoes it unformatted).
EXECUTED = re.compile(
    r"INFO:huey:[\w-]+:Executing helpline\.jobs\.process_inbound_job: (\S+)"
)


# --- one run per slot ----------------------------------------------------------------
def test_slots_are_aligned_on_the_epoch_in_utc():
    when = datetime(2026, 11, 24, 12, 7, 59, tzinfo=UTC)
    assert jobs.slot_of(when, 1) == datetime(2026, 11, 24, 12, 7, tzinfo=UTC)
    assert jobs.slot_of(when, 5) == datetime(2026, 11, 24, 12, 5, tzinfo=UTC)
    assert jobs.slot_of(when, 1440) == datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.django_db
def test_a_periodic_job_claims_its_slot_once():
    start = datetime(2026, 11, 24, 12, 5, 1, tzinfo=UTC)
    assert jobs.claim_slot("pending_job", 5, now=start)
    assert not jobs.claim_slot("pending_job", 5, now=start + timedelta(minutes=4))
    assert jobs.claim_slot("unlock_job", 5, now=start)  # another job, its own slots
    assert jobs.claim_slot("pending_job", 5, now=start + timedelta(minutes=5))
    assert PeriodicRun.objects.filter(job="pending_job").count() == 2


@pytest.mark.django_db
def test_the_second_scheduler_copy_of_a_periodic_job_does_nothing():
    calls = []

    @jobs.once_per_slot(10)
    def tidy() -> str:
        calls.append(1)
        return "done"

    assert tidy() == "done"
    assert tidy() is None
    assert len(calls) == 1


# --- two workers --------------------------------------------------------------------
@pytest.fixture
def redis_url(tmp_path):
    """A private Redis server on a free port of 127.0.0.1, for this test alone."""
    binary = shutil.which("redis-server") or REDIS_SERVER
    if not os.access(binary, os.X_OK):
        pytest.fail(
            "redis-server is not installed: .ci/system-packages installs it "
            "(Debian's redis-server package)",
            pytrace=False,
        )
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


def _start_worker(
    tmp_path: Path, name: str, index: int, redis_url: str
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HELPLINE_DATABASE_URL": database_url(),
        "HELPLINE_DATA_DIR": str(tmp_path / f"worker{index}"),
        "HELPLINE_ATTACHMENT_DIR": str(tmp_path / "media"),
        "HELPLINE_REDIS_URL": redis_url,
        "HELPLINE_JOBS_NAME": name,
        "HELPLINE_JOBS_IMMEDIATE": "0",
        "HELPLINE_WORKER_THREADS": "2",
    }
    log = (tmp_path / f"worker{index}.log").open("w")
    return subprocess.Popen(
        [HELPLINE, "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _mail(i: int) -> bytes:
    return (
        f"From: Reader {i} <reader{i}@example.net>\r\n"
        "To: info@helpline.localhost\r\n"
        f"Subject: Question number {i}\r\n"
        f"Message-ID: <two-workers-{i}@example.net>\r\n"
        "\r\n"
        f"Body of question {i}.\r\n"
    ).encode()


# serialized_rollback: the flush after a committing test would take the states the
# migrations seed with it, and the tests after this one need them.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_on_redis_take_each_job_once(tmp_path, settings, redis_url):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_queue("Info", group=make_group("Support"), email="info@helpline.localhost")
    name = f"helpline-test-{uuid.uuid4().hex[:12]}"
    storage = RedisStorage(name=name, url=redis_url)
    workers = [_start_worker(tmp_path, name, i, redis_url) for i in (1, 2)]
    _wait_until_started(workers, tmp_path)
    saved = (HUEY._immediate, HUEY.storage)
    try:
        # The suite runs jobs in-process; here they go to the workers' Redis queue.
        HUEY._immediate, HUEY.storage = False, storage
        started = datetime.now(UTC)
        # What two schedulers do at 03:17 each day: each enqueues the archive job.
        jobs.archive_job()
        jobs.archive_job()
        ids = []
        for i in range(MESSAGES):
            message, _ = receive(_mail(i), transport="test")
            ids.append(jobs.process_inbound_job(message.pk).id)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            left = InboundMessage.objects.filter(status=InboundStatus.RECEIVED).count()
            if not left and storage.queue_size() == 0:
                break
            assert all(w.poll() is None for w in workers), _logs(tmp_path)
            time.sleep(0.2)
        time.sleep(1)  # let a job that was (wrongly) delivered twice show up too
        finished = datetime.now(UTC)
    finally:
        HUEY._immediate, HUEY.storage = saved
        for w in workers:
            w.send_signal(signal.SIGINT)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
        storage.flush_all()

    logs = _logs(tmp_path)
    statuses = set(InboundMessage.objects.values_list("status", flat=True))
    assert statuses == {InboundStatus.PROCESSED}, logs
    assert Ticket.objects.count() == MESSAGES
    executed = re.findall(EXECUTED, logs)
    assert sorted(executed) == sorted(ids), logs
    by_worker = [len(re.findall(EXECUTED, text)) for text in _logs(tmp_path, each=True)]
    assert all(n > 0 for n in by_worker), by_worker  # both took part
    # Both copies of the periodic job were taken; only one did the work.
    archive_runs = re.findall(
        r"INFO:huey:[\w-]+:Executing helpline\.jobs\.archive_job", logs
    )
    assert len(archive_runs) == 2, logs
    days = {jobs.slot_of(started, 1440), jobs.slot_of(finished, 1440)}
    assert PeriodicRun.objects.filter(job="archive_job").count() == len(days)


def _wait_until_started(workers: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all("Huey consumer started" in t for t in _logs(tmp_path, each=True)):
            return
        assert all(w.poll() is None for w in workers), _logs(tmp_path)
        time.sleep(0.1)
    raise AssertionError("the workers did not start:\n" + _logs(tmp_path))


def _logs(tmp_path: Path, *, each: bool = False):
    texts = [(tmp_path / f"worker{i}.log").read_text() for i in (1, 2)]
    return texts if each else "\n".join(texts)


# --- the search index's pending writes -----------------------------------------------
@pytest.mark.django_db
def test_the_worker_flushes_the_search_index_once_a_minute():
    """The periodic job, not an agent's write, moves the GIN pending lists into the
    indexes (PostgreSQL; nothing to move on SQLite); once per slot across workers."""
    from huey.api import PeriodicTask

    task = jobs.flush_search_index
    assert issubclass(task.task_class, PeriodicTask)
    every_minute = task.task_class().validate_datetime
    assert every_minute(datetime(2026, 11, 24, 12, 7))
    assert every_minute(datetime(2026, 11, 24, 12, 8))
    from helpline.search.indexer import flush_pending

    moved = task.call_local()
    assert moved is not None and moved >= 0
    assert flush_pending() == 0  # the job left nothing pending
    assert task.call_local() is None  # this minute's slot is taken
    assert PeriodicRun.objects.filter(job="flush_search_index").count() == 1
