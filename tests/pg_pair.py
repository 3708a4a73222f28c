"""A PostgreSQL primary and its streaming replica, from Debian's binaries, for tests.

``PgPair.start()`` runs ``initdb`` (wal_level=replica), starts the primary on a free
port of 127.0.0.1, copies it with ``pg_basebackup -R`` (a standby that follows the
primary) and starts that on another free port; ``stop()`` stops both and removes the
directory.  As root, the servers run as the ``postgres`` user (``runuser``), which
PostgreSQL requires.  A missing binary fails with what to install.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("HELPLINE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgPair:
    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl", "pg_basebackup", "postgres"):
            if not (PG_BIN / tool).exists():
                raise RuntimeError(
                    f"{PG_BIN / tool} is missing: install Debian's postgresql-15 "
                    "(bash .ci/system-packages) or set HELPLINE_TEST_PG_BIN."
                )
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="helpline-pgpair-"))
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.primary_dir = self.dir / "primary"
        self.replica_dir = self.dir / "replica"
        if self.as_root:
            pg = pwd.getpwnam("postgres")
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)

    # --- running the binaries -----------------------------------------------------------
    def _run(self, tool: str, *args: str, timeout: float = 120) -> str:
        argv = [str(PG_BIN / tool), *args]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(  # noqa: S603 (fixed binaries, our arguments)
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.dir,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def _configure(self, data: Path, port: int) -> None:
        settings = (
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.dir}'\n"
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
            # A test cluster: no fsync, small shared memory.
            "fsync = off\nshared_buffers = 32MB\n"
        )
        with (data / "postgresql.conf").open("a") as fh:
            fh.write(settings)

    def _pg_ctl(self, data: Path, action: str) -> None:
        args = ["-D", str(data), "-w", "-t", "60"]
        if action == "start":
            args += ["-l", str(data.parent / f"{data.name}.log")]
        if action == "stop":
            args += ["-m", "fast"]
        self._run("pg_ctl", *args, action)

    def start(self) -> PgPair:
        try:
            self._run(
                "initdb",
                "-D",
                str(self.primary_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
            self._configure(self.primary_dir, self.primary_port)
            self._pg_ctl(self.primary_dir, "start")
            self._run(
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.primary_port),
                "-U",
                "postgres",
                "-D",
                str(self.replica_dir),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            )
            with (self.replica_dir / "postgresql.conf").open("a") as fh:
                fh.write(f"\nport = {self.replica_port}\n")
            self._pg_ctl(self.replica_dir, "start")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                # Already stopped: the directory goes anyway.
                with contextlib.suppress(RuntimeError):
                    self._pg_ctl(data, "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def stop_replica(self) -> None:
        self._pg_ctl(self.replica_dir, "stop")

    def start_replica(self) -> None:
        self._pg_ctl(self.replica_dir, "start")

    # --- talking to them ---------------------------------------------------------------
    def url(self, which: str, dbname: str) -> str:
        port = self.primary_port if which == "primary" else self.replica_port
        return f"postgres://postgres@127.0.0.1:{port}/{dbname}"

    def sql(self, which: str, query: str, *params: object, dbname: str = "postgres"):
        """Run one statement (autocommit); its rows, if it returns any."""
        with psycopg.connect(self.url(which, dbname), autocommit=True) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else None

    def pause_replay(self) -> None:
        self.sql("replica", "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("replica", "SELECT pg_wal_replay_resume()")
        self.wait_replayed()

    def wait_replayed(self, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary has written."""
        ((target,),) = self.sql("primary", "SELECT pg_current_wal_flush_lsn()::text")
        deadline = time.monotonic() + timeout
        while True:
            ((done,),) = self.sql(
                "replica", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target
            )
            if done:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not catch up")
            time.sleep(0.05)
