"""Real processes for the monitoring tests: a private PostgreSQL cluster and
``helpline serve`` / ``helpline worker`` on free ports of 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parents[2]
HELPLINE = str(Path(sys.executable).parent / "helpline")
PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """A PostgreSQL 15 cluster of its own (initdb in a temporary directory), run as
    the ``postgres`` user when the tests run as root, on a free port."""

    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl"):
            if not os.access(PG_BIN / tool, os.X_OK):
                pytest.fail(
                    f"{PG_BIN / tool} is missing: install Debian's postgresql-15",
                    pytrace=False,
                )
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="helpline-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
            "-U", "postgres", "--no-sync",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            [*self.as_postgres, *argv], capture_output=True, text=True, timeout=120
        )
        if done.returncode:
            log = self.log.read_text() if self.log.exists() else ""
            raise AssertionError(f"{argv[0]} failed: {done.stderr}{done.stdout}{log}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.base} -c fsync=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
        )

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def helpline_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    env.update(HELPLINE_DATA_DIR=str(data_dir), HELPLINE_JOBS_IMMEDIATE="0", **extra)
    return env


class Serve:
    """``helpline serve`` in a process of its own, its output in a file."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [HELPLINE, "serve", "--bind", f"127.0.0.1:{self.port}"]
            + ["--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.wait_until_up()

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("helpline serve stopped:\n" + self.log.read_text())
            try:
                if get(self.url + "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("helpline serve did not start:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def get(
    url: str, headers: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, headers=headers or {}, data=data)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
