"""Hosts for the several-hosts tests: each a set of real ``helpline`` processes.

A host is what one machine of a Helpline installation runs: the web server
(``helpline serve``), the LMTP listener (``helpline mail listen``) and the worker
(``helpline worker``), with its own data directory (``HELPLINE_DATA_DIR``: the cache,
the collected static files) and its own ``HELPLINE_ATTACHMENT_DIR``.  All hosts share
the secret key, the PostgreSQL database, one Redis server (jobs, cache) and, with
``HELPLINE_BLOB_STORE=s3``, the object store.  Every process runs in its own process
group, so ``Host.kill()`` is what pulling a machine's plug does to it: SIGKILL to
every process (gunicorn's workers included), no clean-up.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parents[2]
HELPLINE = str(Path(sys.executable).parent / "helpline")
REDIS_SERVER = "/usr/bin/redis-server"


class HostError(AssertionError):
    pass


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A private Redis server on a free port of 127.0.0.1; yields its URL."""
    binary = shutil.which("redis-server") or REDIS_SERVER
    if not os.access(binary, os.X_OK):
        raise HostError(
            "redis-server is not installed: .ci/system-packages installs it "
            "(Debian's redis-server package)"
        )
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(directory)],
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
                    raise HostError(
                        f"redis-server did not start on port {port}"
                    ) from None
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Host:
    """One machine: its processes, ports, directories and environment."""

    name: str
    base: Path
    env: dict[str, str]
    web_port: int = field(default_factory=free_port)
    lmtp_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return Path(self.env["HELPLINE_DATA_DIR"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def log(self, part: str) -> Path:
        return self.base / f"{self.name}-{part}.log"

    def logs(self) -> str:
        return "\n".join(
            f"--- host {self.name}, {part} ---\n{self.log(part).read_text()}"
            for part in self.procs
            if self.log(part).exists()
        )

    def start(self, *parts: str) -> None:
        """Start ``web``, ``listener`` and/or ``worker``; return when they serve."""
        argv = {
            "web": ["serve", "--bind", f"127.0.0.1:{self.web_port}", "--workers", "1"],
            "listener": ["mail", "listen", "--bind", f"127.0.0.1:{self.lmtp_port}"],
            "worker": ["worker"],
        }
        for part in parts:
            with self.log(part).open("ab") as log:
                # Our own command line, no shell; a process group of its own each
                # (gunicorn's forked workers join the master's).
                self.procs[part] = subprocess.Popen(  # noqa: S603
                    [HELPLINE, *argv[part]],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        deadline = time.monotonic() + 90
        for part in parts:
            while not self._ready(part):
                if self.procs[part].poll() is not None:
                    raise HostError(f"{self.name}'s {part} stopped:\n{self.logs()}")
                if time.monotonic() > deadline:
                    raise HostError(
                        f"{self.name}'s {part} did not start:\n{self.logs()}"
                    )
                time.sleep(0.1)

    def _ready(self, part: str) -> bool:
        if part == "web":
            return _port_open(self.web_port)
        if part == "listener":
            return _port_open(self.lmtp_port)
        return "Huey consumer started" in self.log(part).read_text(errors="replace")

    def pid(self, part: str) -> int:
        return self.procs[part].pid

    def kill(self) -> None:
        """SIGKILL every process of the host, as a power cut would."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs.values():
            proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop the host's processes as systemd would (SIGTERM, then SIGKILL)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def files_over(self, size: int) -> list[Path]:
        """Files larger than ``size`` bytes under the host's data and attachment dirs,
        except the static files ``helpline serve`` collects (the program's own)."""
        found = []
        static = self.data_dir / "static"
        for top in {self.data_dir, Path(self.env["HELPLINE_ATTACHMENT_DIR"])}:
            for path in top.rglob("*"):
                if static in path.parents:
                    continue
                if path.is_file() and path.stat().st_size > size:
                    found.append(path)
        return found


def host_env(
    name: str, base: Path, *, shared: dict[str, str], attachment_dir: Path | None = None
) -> dict[str, str]:
    """The environment of host ``name``: the shared settings plus its own directories."""
    data_dir = base / f"host-{name}"
    data_dir.mkdir(mode=0o700)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HELPLINE_")  # nothing of the test run's own settings
    }
    env.update(shared)
    env["HELPLINE_DATA_DIR"] = str(data_dir)
    env["HELPLINE_ATTACHMENT_DIR"] = str(attachment_dir or data_dir / "attachments")
    return env
