"""Reads from a PostgreSQL streaming replica (helpline/replica.py), end to end.

A real primary and replica (tests/pg_pair.py), Helpline migrated and seeded on the
primary, and ``helpline serve`` processes configured with both, driven over HTTP.
Which database served a page is told apart by pausing the replica's replay
(``pg_wal_replay_pause()``) and then renaming a ticket on the primary: the replica
still has the old title.  This runs in both CI legs: it needs Debian's
postgresql-15 binaries, not the test database.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg_pair import PgPair, free_port
from tests.replica_site import LOGIN, PASSWORD

HELPLINE = str(Path(sys.executable).parent / "helpline")
DB = "helpline"
PIN_SECONDS = 3


def _env(data_dir: Path, pair: PgPair, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HELPLINE_DATABASE_URL": pair.url("primary", DB),
        "HELPLINE_DATA_DIR": str(data_dir),
        "HELPLINE_SECRET_KEY": "replica-test-key-" + "x" * 40,
        "HELPLINE_JOBS_IMMEDIATE": "1",
        "HELPLINE_LOG_LEVEL": "WARNING",
        **extra,
    }


@dataclass
class Site:
    pair: PgPair
    tmp: Path
    queue_id: int
    number: str
    token: str

    def run(self, verb: str) -> str:
        done = subprocess.run(  # noqa: S603 (our interpreter, our module)
            [sys.executable, "-m", "tests.replica_site", verb],
            env=_env(self.tmp / "site", self.pair),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def retitle(self, title: str) -> None:
        """Rename the ticket on the primary, behind Helpline's back."""
        self.pair.sql(
            "primary",
            "UPDATE helpline_ticket SET title = %s WHERE number = %s",
            title,
            self.number,
            dbname=DB,
        )


class Server:
    """``helpline serve`` (one worker) on a free port, logging to a file."""

    def __init__(self, site: Site, name: str, **settings: str) -> None:
        self.port = free_port()
        self.log_path = site.tmp / f"{name}.log"
        env = _env(
            site.tmp / name,
            site.pair,
            **{
                "HELPLINE_DATABASE_REPLICA_URL": site.pair.url("replica", DB),
                "HELPLINE_REPLICA_CHECK_SECONDS": "1",
                "HELPLINE_REPLICA_PIN_SECONDS": str(PIN_SECONDS),
                **settings,
            },
        )
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [HELPLINE, "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "1"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            assert self.process.poll() is None, self.log_text()
            assert time.monotonic() < deadline, self.log_text()
            time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class Agent:
    """A browser's worth of HTTP: cookies, the CSRF token, the login form."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar)
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.server.url + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def post(self, path: str, fields: dict[str, str]) -> int:
        csrf = next(c.value for c in self.jar if c.name == "csrftoken")
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": csrf})
        request = urllib.request.Request(
            self.server.url + path,
            data=data.encode(),
            headers={"Referer": self.server.url + path},
        )
        with self.opener.open(request, timeout=30) as response:
            return int(response.status)

    def login(self) -> Agent:
        self.get("/login/")
        self.post("/login/", {"username": LOGIN, "password": PASSWORD})
        status, page = self.get("/")
        assert status == 200 and "logout" in page, page[:500]
        return self

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def api_titles(server: Server, token: str) -> list[str]:
    request = urllib.request.Request(
        server.url + "/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return [item["title"] for item in json.load(response)["items"]]


def metrics(server: Server) -> str:
    """The web host's /metrics (the test runs on loopback, which may read it)."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=30) as response:  # noqa: S310
        return response.read().decode()


def metric(text: str, name: str) -> float:
    """One sample's value from the metrics text (0 when absent)."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    pair = PgPair().start()
    try:
        pair.sql("primary", f"CREATE DATABASE {DB}")
        tmp = tmp_path_factory.mktemp("replica")
        site = Site(pair, tmp, 0, "", "")
        queue_id, number, _, token = site.run("seed").split()
        site.queue_id, site.number, site.token = int(queue_id), number, token
        pair.wait_replayed()
        yield site
    finally:
        pair.stop()


@pytest.fixture(scope="module")
def server(site) -> Iterator[Server]:
    """A web host that tolerates a long lag: pausing replay keeps it on the replica."""
    server = Server(site, "web1", HELPLINE_REPLICA_MAX_LAG_SECONDS="600")
    yield server
    server.stop()


@pytest.fixture
def renamed(site) -> Iterator[tuple[str, str]]:
    """The ticket's title on the replica, and another one on the primary only
    (replay paused until the test ends)."""
    stamp = str(time.monotonic_ns())
    old, new = f"Replicated title {stamp}", f"Primary-only title {stamp}"
    site.retitle(old)
    site.pair.wait_replayed()
    site.pair.pause_replay()
    site.retitle(new)
    try:
        yield old, new
    finally:
        site.pair.resume_replay()


def test_without_a_replica_every_read_goes_to_the_primary(settings):
    """No HELPLINE_DATABASE_REPLICA_URL (the suite's settings): no router, and the
    metrics say so."""
    from helpline.replica import replica_metrics, replica_state

    assert "replica" not in settings.DATABASES
    assert not getattr(settings, "DATABASE_ROUTERS", [])
    assert replica_state().status == "off"
    metrics = replica_metrics()
    assert (metrics["configured"], metrics["up"], metrics["lag_seconds"]) == (0, 0, -1)


def test_queue_views_search_and_api_lists_are_read_from_the_replica(
    site, server, renamed
):
    """With replay paused, the lists show the replica's title; the zoom, which
    always reads the primary, shows the new one."""
    old, new = renamed
    agent = Agent(server).login()
    pages = {
        "queue": agent.get(f"/queues/{site.queue_id}/"),
        "my queues": agent.get("/queues/"),
        "open tickets": agent.get("/tickets/open/"),
        "search": agent.get("/search/?q=quokka"),
    }
    for name, (status, page) in pages.items():
        assert status == 200, name
        assert old in page, name
        assert new not in page, name
    titles = api_titles(server, site.token)
    assert old in titles
    assert new not in titles
    status, zoom = agent.get(f"/ticket/{site.number}/")
    assert status == 200
    assert new in zoom
    text = metrics(server)
    assert metric(text, "helpline_replica_up") == 1
    assert metric(text, 'helpline_replica_status{status="ok"}') == 1
    assert metric(text, 'helpline_replica_reads_total{served_by="replica"}') >= 5


def test_an_agent_who_has_just_written_reads_the_primary_for_a_while(
    site, server, renamed
):
    """After a POST the agent's lists come from the primary (the signed cookie in the
    browser, the shared cache for the same agent's API client) until the pin ends."""
    old, new = renamed
    agent = Agent(server).login()
    assert old in agent.get(f"/queues/{site.queue_id}/")[1]

    agent.post(f"/ticket/{site.number}/watch/", {})
    assert agent.cookie("helpline_pin") is not None
    status, page = agent.get(f"/queues/{site.queue_id}/")
    assert status == 200
    assert new in page
    assert old not in page
    assert new in api_titles(server, site.token)  # no cookie: the cache's pin

    time.sleep(PIN_SECONDS + 0.5)
    assert old in agent.get(f"/queues/{site.queue_id}/")[1]
    assert old in api_titles(server, site.token)


def test_a_revoked_grant_takes_effect_at_once_despite_a_paused_replica(
    site, server, renamed
):
    """The replica still holds the grant; the lists ask the primary who may read."""
    old, _new = renamed
    agent = Agent(server).login()
    assert old in agent.get("/queues/")[1]
    site.run("revoke")
    try:
        status, page = agent.get("/queues/")
        assert status == 200
        assert old not in page
        assert agent.get(f"/queues/{site.queue_id}/")[0] == 404
        assert old not in agent.get("/search/?q=quokka")[1]
        assert old not in agent.get("/tickets/open/")[1]
        assert api_titles(server, site.token) == []
    finally:
        site.run("grant")


def test_a_lagging_replica_is_bypassed_with_a_warning(site, renamed):
    """Past HELPLINE_REPLICA_MAX_LAG_SECONDS the lists come from the primary."""
    _old, new = renamed
    strict = Server(site, "web2", HELPLINE_REPLICA_MAX_LAG_SECONDS="1")
    try:
        time.sleep(3)  # the replica falls more than a second behind
        agent = Agent(strict).login()
        status, page = agent.get(f"/queues/{site.queue_id}/")
        assert status == 200
        assert new in page
        assert re.search(r"Replica lagging \(lag \d+\.\d s", strict.log_text())
        text = metrics(strict)
        assert metric(text, "helpline_replica_up") == 0
        assert metric(text, 'helpline_replica_status{status="lagging"}') == 1
        assert metric(text, "helpline_replica_lag_seconds") > 1
        bypassed = 'helpline_replica_reads_total{served_by="primary_bypassed"}'
        assert metric(text, bypassed) >= 1
    finally:
        strict.stop()


def test_a_stopped_replica_is_bypassed_and_the_pages_still_work(site, server):
    """Found by the periodic check (``server``), or by a page's query failing on the
    replica between two checks (``unchecked``): either way the page is answered
    from the primary."""
    unchecked = Server(site, "web3", HELPLINE_REPLICA_CHECK_SECONDS="3600")
    try:
        agents = [Agent(server).login(), Agent(unchecked).login()]
        for agent in agents:  # both have seen the replica up
            assert agent.get(f"/queues/{site.queue_id}/")[0] == 200
        title = f"Seen with the replica down {time.monotonic_ns()}"
        site.retitle(title)
        site.pair.stop_replica()
        try:
            time.sleep(1.5)  # past ``server``'s check interval, not ``unchecked``'s
            for agent in agents:
                for path in (f"/queues/{site.queue_id}/", "/search/?q=quokka", "/"):
                    status, _page = agent.get(path)
                    assert status == 200, (agent.server.url, path)
                assert title in agent.get(f"/queues/{site.queue_id}/")[1]
                assert title in api_titles(agent.server, site.token)
                assert "Replica down" in agent.server.log_text()
        finally:
            site.pair.start_replica()
            site.pair.wait_replayed()
    finally:
        unchecked.stop()
