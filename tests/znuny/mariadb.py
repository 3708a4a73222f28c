"""A private MariaDB holding the same Znuny rows as the pristine PostgreSQL database.

``MariaDB`` starts its own ``mariadbd`` (data directory under /tmp, 127.0.0.1, a free
port, no system service) and stops it again.  ``load_znuny()`` creates Znuny's MySQL
schema from the Znuny tarball (``scripts/database/schema.mysql.sql``, then the rows,
then ``schema-post.mysql.sql``: foreign keys after the data) and copies every table of
a PostgreSQL Znuny database into it, table by table.

What differs between the two is what Znuny itself does differently: the "LONGBLOB"
columns it writes through ``DirectBlob`` hold base64 on PostgreSQL and the bytes on
MySQL (``helpline.importers.znuny.source.BLOB_COLUMNS``), so they are decoded on the
way.  The database is ``utf8mb4`` (Znuny's installer says ``utf8``, which on MySQL is
three bytes and makes Znuny replace other characters with U+FFFD; utf8mb4 keeps the
rows equal to the PostgreSQL ones, which is what the tests compare).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql

from helpline.importers.znuny.source import BLOB_COLUMNS
from tests.znuny.sources import TARBALL, ZnunySource, _locked, cache_root, key

USER = "znuny"
PASSWORD = "znuny"  # noqa: S105 - a throw-away server on 127.0.0.1
BATCH = 500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str) -> str:
    for candidate in (name, f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        found = shutil.which(candidate)
        if found:
            return found
    raise RuntimeError(
        f"{name} is missing: install mariadb-server (bash .ci/system-packages)"
    )


class MariaDB:
    """A mariadbd of our own; ``url(dbname)`` for Source, ``connect()`` as root."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="helpline-mariadb-"))
        self.datadir = self.dir / "data"
        self.socket = self.dir / "mysqld.sock"
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, datadir_tar: Path | None = None) -> MariaDB:
        """Start on a new data directory, or on one unpacked from ``datadir_tar``."""
        if datadir_tar is not None:
            self.datadir.mkdir()
            subprocess.run(
                ["tar", "-xf", str(datadir_tar), "-C", str(self.datadir)], check=True
            )
            self._run()
            return self
        install = subprocess.run(
            [
                _binary("mariadb-install-db"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            raise RuntimeError(
                f"mariadb-install-db failed:\n{install.stdout}\n{install.stderr}"
            )
        self._run()
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
            cur.execute(f"GRANT ALL ON *.* TO '{USER}'@'127.0.0.1'")
        return self

    def _run(self) -> None:
        log = (self.dir / "mariadbd.log").open("wb")
        self.proc = subprocess.Popen(
            [
                _binary("mariadbd"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--pid-file={self.dir / 'mariadbd.pid'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-buffer-pool-size=256M",
                "--max-allowed-packet=256M",
                "--character-set-server=utf8mb4",
                "--skip-name-resolve",
                "--innodb-file-per-table=0",
                "--innodb-doublewrite=0",
                "--innodb-flush-method=nosync",
                "--innodb-log-file-size=16M",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.connect().close()
                break
            except pymysql.err.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log_text = (self.dir / "mariadbd.log").read_text(errors="replace")
                    self.stop()
                    raise RuntimeError(
                        f"mariadbd did not start: {log_text[-2000:]}"
                    ) from None
                time.sleep(0.2)

    def connect(self, database: str | None = None) -> Any:
        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            database=database,
            charset="utf8mb4",
            autocommit=True,
        )

    def url(self, database: str) -> str:
        return f"mysql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def shutdown(self) -> None:
        """Stop the server cleanly; the data directory stays."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self) -> None:
        self.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql_file(self, database: str, script: str) -> None:
        done = subprocess.run(
            [
                _binary("mariadb"),
                "--no-defaults",
                f"--socket={self.socket}",
                "-uroot",
                database,
            ],
            input=script,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"loading SQL into {database} failed:\n{done.stderr[-2000:]}"
            )


def _schema(name: str) -> str:
    """scripts/database/<name> from the Znuny tarball."""
    with tarfile.open(TARBALL) as tar:
        for member in tar.getmembers():
            if member.name.endswith(f"/scripts/database/{name}"):
                extracted = tar.extractfile(member)
                assert extracted is not None
                return extracted.read().decode("utf-8")
    raise RuntimeError(f"{name} is not in {TARBALL}")


def load_znuny(server: MariaDB, database: str, pg_url: str) -> dict[str, int]:
    """Znuny's MySQL schema in ``database``, filled with the rows of the PostgreSQL
    Znuny database at ``pg_url``; the row count of every table."""
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )
    server.sql_file(database, _schema("schema.mysql.sql"))
    counts: dict[str, int] = {}
    with psycopg.connect(pg_url) as pg, server.connect(database) as my:
        with my.cursor() as cur:
            cur.execute(
                "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')"
            )
            cur.execute("SET SESSION foreign_key_checks = 0")
            cur.execute("SHOW TABLES")
            my_tables = {row[0] for row in cur.fetchall()}
        pg_tables = [
            row[0]
            for row in pg.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        missing = sorted(set(pg_tables) - my_tables)
        if missing:
            raise RuntimeError(f"tables not in Znuny's MySQL schema: {missing}")
        my.autocommit(False)
        for table in pg_tables:
            counts[table] = _copy_table(pg, my, table)
        my.commit()
    server.sql_file(database, _foreign_keys(_schema("schema-post.mysql.sql")))
    return counts


def _foreign_keys(post: str) -> str:
    """schema-post.mysql.sql's foreign keys, one ALTER TABLE per table, unchecked.

    The script adds 276 keys one ALTER at a time, each guarded by a look-up in
    information_schema; on a new database the same keys in one statement per table
    take a fraction of the time.  The rows satisfied the same keys on PostgreSQL, so
    MariaDB need not check them again (``foreign_key_checks = 0``: added in place).
    """
    by_table: dict[str, list[str]] = {}
    found = re.findall(
        r"IF\( @FKExists = 0, 'ALTER TABLE (\w+) ADD (CONSTRAINT [^']+)'", post
    )
    for table, constraint in found:
        by_table.setdefault(table, []).append(f"ADD {constraint}")
    if len(found) != post.count("SET @FKSQLStatement"):
        raise RuntimeError("schema-post.mysql.sql did not look as expected")
    return "SET foreign_key_checks = 0;\n" + "".join(
        f"ALTER TABLE `{table}` {', '.join(adds)};\n"
        for table, adds in by_table.items()
    )


def _copy_table(pg: psycopg.Connection, my: Any, table: str) -> int:
    with pg.cursor(name=f"copy_{table}") as src:
        src.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - a name from the catalogue
        rows = src.fetchmany(BATCH)
        assert src.description is not None
        names = [d.name for d in src.description]
        blobs = [i for i, n in enumerate(names) if (table, n) in BLOB_COLUMNS]
        insert = "INSERT INTO `{}` ({}) VALUES ({})".format(  # noqa: S608
            table,
            ", ".join(f"`{n}`" for n in names),
            ", ".join(["%s"] * len(names)),
        )
        count = 0
        with my.cursor() as cur:
            while rows:
                if blobs:
                    rows = [_decoded(row, blobs) for row in rows]
                cur.executemany(insert, rows)
                count += len(rows)
                rows = src.fetchmany(BATCH)
        return count


def _decoded(row: tuple[Any, ...], blobs: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for i in blobs:
        # Znuny decodes only what has no space in it: a raw value (initial_insert's
        # welcome mail) is stored as it is.
        if values[i] is not None:
            text = values[i]
            values[i] = text.encode("utf-8") if " " in text else base64.b64decode(text)
    return tuple(values)


@contextlib.contextmanager
def znuny_server(src: ZnunySource, database: str = "znuny") -> Iterator[str]:
    """A running MariaDB holding the rows of ``src``; its URL.

    The loaded data directory is cached beside the PostgreSQL dump (key: the source's
    key, this file and the mariadbd version): loading takes ~10 s, unpacking ~1 s.
    """
    tar = _cached_datadir(src, database)
    server = MariaDB()
    try:
        server.start(tar)
        yield server.url(database)
    finally:
        server.stop()


def _cached_datadir(src: ZnunySource, database: str) -> Path:
    version = subprocess.run(
        [_binary("mariadbd"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    digest = hashlib.sha256(
        f"{key(src.storage)} {database} {version}".encode()
        + Path(__file__).read_bytes()
    ).hexdigest()
    tar = cache_root() / key(src.storage) / f"mariadb-{digest[:16]}.tar"
    if tar.exists():
        return tar
    with _locked(tar.with_suffix(".lock")):
        if tar.exists():
            return tar
        server = MariaDB().start()
        try:
            load_znuny(server, database, src.url)
            server.shutdown()
            partial = tar.with_suffix(".partial")
            subprocess.run(
                ["tar", "-cf", str(partial), "-C", str(server.datadir), "."], check=True
            )
            partial.rename(tar)
            for old in tar.parent.glob("mariadb-*"):  # an older loader's or server's
                if old.name not in (tar.name, tar.with_suffix(".lock").name):
                    old.unlink(missing_ok=True)
        finally:
            server.stop()
    return tar
