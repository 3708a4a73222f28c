"""``helpline serve`` with two worker processes and ``helpline worker``, for real.

The counters of both gunicorn workers add up in one scrape; a request's id is in the
web server's JSON log lines and in those of the job it started, which the worker runs;
the worker's heartbeat shows in /metrics.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.mail.intake import receive_and_dispatch
from helpline.models import Permission
from tests.monitoring.servers import HELPLINE, ROOT, Serve, get, helpline_env
from tests.monitoring.test_endpoints import sample
from tests.support import database_url, make_agent, make_group, make_queue

REQUESTS = 40


def _mail(i: int) -> bytes:
    return (
        "From: reader@example.net\r\nTo: info@helpline.localhost\r\n"
        f"Subject: Served {i}\r\nMessage-ID: <served-{i}@example.net>\r\n\r\nHi.\r\n"
    ).encode()


# serialized_rollback: the servers read what the test commits (as tests/test_jobs.py).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_count_every_request_once(tmp_path):
    make_queue("Info", group=make_group("Support"), email="info@helpline.localhost")
    for i in range(3):
        receive_and_dispatch(_mail(i), transport="test")
    metrics_dir = tmp_path / "metrics"
    env = helpline_env(
        tmp_path / "data",
        HELPLINE_DATABASE_URL=database_url(),
        HELPLINE_METRICS_DIR=str(metrics_dir),
    )
    serve = Serve(env, tmp_path / "serve.log", workers=2)
    try:
        # Eight at a time: one sync worker cannot take them all, both answer.
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(lambda _: get(serve.url + "/login/")[0], range(REQUESTS))
            )
        assert statuses == [200] * REQUESTS
        status, _, body = get(serve.url + "/metrics")
        assert status == 200
        text = body.decode()
        pids = {p.stem.split("_")[-1] for p in metrics_dir.glob("counter_*.db")}
        assert len(pids) == 2, pids  # both workers counted some
        login = {"view": "login", "method": "GET", "status": "200"}
        assert sample(text, "helpline_http_requests_total", **login) == REQUESTS
        count = "helpline_http_request_duration_seconds_count"
        assert sample(text, count, view="login") == REQUESTS
        assert (
            sample(text, "helpline_inbound_messages_last_hour", status="processed") == 3
        )
        assert sample(text, "helpline_quarantine_messages") == 0
    finally:
        serve.stop()
    assert metrics_dir.is_dir()  # a configured directory is kept


def _worker(env: dict[str, str], log) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [HELPLINE, "worker", "--no-periodic"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _json_lines(path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_request_id_is_in_the_json_logs_of_the_request_and_of_its_job(tmp_path):
    group = make_group("Support")
    make_queue("Info", group=group, email="info@helpline.localhost")
    agent = make_agent("alice")
    admin.grant(group, [Permission.RW, Permission.CREATE], agent=agent)
    secret = create_token(agent, name="monitoring test").secret
    env = helpline_env(
        tmp_path / "data",
        HELPLINE_DATABASE_URL=database_url(),
        HELPLINE_LOG_FORMAT="json",
        HELPLINE_WORKER_BEAT_SECONDS="1",
    )
    serve = Serve(env, tmp_path / "serve.log", workers=1)
    worker = _worker(env, tmp_path / "worker.log")
    try:
        body = {"queue": "Info", "title": "Printer", "article": {"body": "It jams."}}
        status, headers, answer = get(
            serve.url + "/api/v1/tickets",
            headers={
                "Authorization": f"Bearer {secret}",
                "Content-Type": "application/json",
            },
            data=json.dumps(body).encode(),
        )
        assert status == 201, answer
        rid = headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid)
        deadline = time.monotonic() + 60
        started: list[dict] = []
        while time.monotonic() < deadline and not started:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            started = [
                line
                for line in _json_lines(tmp_path / "worker.log")
                if line["message"].endswith(f"started for request {rid}")
            ]
            time.sleep(0.2)
        assert started, (tmp_path / "worker.log").read_text()
        assert all(line["request_id"] == rid for line in started)
        assert all(line["name"] == "helpline.jobs" for line in started)
        served = [
            line
            for line in _json_lines(tmp_path / "serve.log")
            if line.get("request_id") == rid
        ]
        assert served and served[-1]["message"].startswith("POST /api/v1/tickets 201")
        assert served[-1]["status"] == 201

        # The worker beats: /metrics sees one live worker that did the job.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = get(serve.url + "/metrics")[2].decode()
            done = re.findall(r"^helpline_worker_jobs_done\{.*\} (\S+)$", text, re.M)
            if done and float(done[0]) >= len(started):
                break
            time.sleep(0.5)
        assert sample(text, "helpline_workers_alive") == 1, text
        assert float(done[0]) >= len(started)
        assert sample(text, "helpline_job_failures") == 0
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        serve.stop()
