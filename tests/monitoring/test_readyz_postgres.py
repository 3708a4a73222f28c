"""/readyz follows PostgreSQL: 503 with the reason while it is stopped, 200 after.

``helpline serve`` runs against a PostgreSQL cluster the test makes (initdb) and
stops and starts with pg_ctl; the server keeps running throughout.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.monitoring.servers import HELPLINE, PrivatePostgres, Serve, get, helpline_env


@pytest.fixture
def postgres():
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def _ready(serve: Serve) -> tuple[int, dict]:
    status, _, body = get(serve.url + "/readyz")
    return status, json.loads(body)


def _status(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HELPLINE, "status"], env=env, capture_output=True, text=True, timeout=120
    )


def test_readyz_is_503_while_postgresql_is_stopped_and_200_again_after(
    postgres, tmp_path
):
    env = helpline_env(tmp_path / "data", HELPLINE_DATABASE_URL=postgres.url)
    migrate = subprocess.run(
        [HELPLINE, "migrate", "-v0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr
    serve = Serve(env, tmp_path / "serve.log", workers=1)
    try:
        assert _ready(serve) == (
            200,
            {
                "status": "ok",
                "checks": {"database": "ok", "redis": "not configured", "blobs": "ok"},
            },
        )
        assert _status(env).returncode == 0

        postgres.stop()
        status, body = _ready(serve)
        assert status == 503, body
        assert body["status"] == "unavailable"
        assert body["reason"] == "database: unreachable"
        assert body["checks"]["blobs"] == "ok"
        assert get(serve.url + "/healthz")[0] == 200  # the process still answers
        down = _status(env)
        assert down.returncode == 1
        assert "database  unreachable: OperationalError" in down.stdout, down.stdout

        postgres.start()
        assert _ready(serve)[0] == 200  # the very next probe: no stale connection
        assert _ready(serve)[0] == 200
        assert _status(env).returncode == 0
    finally:
        serve.stop()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log
