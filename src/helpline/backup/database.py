"""Dumping the database in one snapshot, and restoring it into an empty one.

SQLite: the online backup API copies every page in one step, under one read
transaction (in WAL mode writers go on meanwhile), so the copy is one snapshot.
PostgreSQL: a REPEATABLE READ transaction exports its snapshot and stays open while
``pg_dump --snapshot`` dumps exactly what it sees; the list of blobs and the row
counts are read in that same transaction.  Either way the facts in the manifest
describe the very state that was dumped.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from helpline.backup.manifest import BackupError
from helpline.models import Blob

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"


@dataclass
class Snapshot:
    """What the dumped state holds, read in the dump's own snapshot."""

    tables: dict[str, int]
    migrations: list[tuple[str, str]]
    stored_blobs: list[tuple[str, int]]  # in the storage: sha256, size
    inline_blobs: int
    inline_bytes: int


def vendor() -> str:
    return str(connection.vendor)


def _read_snapshot(cursor: Any, table_names: list[str]) -> Snapshot:
    """Row counts, migrations and blobs, through a DB-API cursor inside the snapshot.
    Table names come from the database's own catalogue, never from input."""
    tables = {}
    for name in sorted(table_names):
        cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
        tables[name] = int(cursor.fetchone()[0])
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    migrations = [(str(app), str(name)) for app, name in cursor.fetchall()]
    blob_table = Blob._meta.db_table
    cursor.execute(
        f"SELECT sha256, size FROM {blob_table} WHERE data IS NULL "  # noqa: S608
        "ORDER BY sha256"
    )
    stored = [(str(sha), int(size)) for sha, size in cursor.fetchall()]
    cursor.execute(
        f"SELECT count(*), coalesce(sum(size), 0) FROM {blob_table} "  # noqa: S608
        "WHERE data IS NOT NULL"
    )
    count, size = cursor.fetchone()
    return Snapshot(tables, migrations, stored, int(count), int(size))


# --- SQLite -----------------------------------------------------------------------------
def _sqlite_path() -> Path:
    return Path(str(settings.DATABASES["default"]["NAME"]))


def _sqlite_tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
    ).fetchall()
    return [str(name) for (name,) in rows]


def dump_sqlite(target: Path) -> Snapshot:
    source_path = _sqlite_path()
    if not source_path.is_file():
        raise BackupError(f"the database {source_path} does not exist")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=60)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one read transaction
        # One self-contained file, whatever the source's journal mode.
        copy.execute("PRAGMA journal_mode=DELETE")
        cursor = copy.cursor()
        snapshot = _read_snapshot(cursor, _sqlite_tables(copy))
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {source_path}: {exc}") from exc
    finally:
        copy.close()
        source.close()
    return snapshot


def sqlite_tables_in_target() -> list[str]:
    path = _sqlite_path()
    if not path.exists() or path.stat().st_size == 0:
        wal = Path(f"{path}-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sorted(
            str(name)
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            )
        )
    finally:
        db.close()


def restore_sqlite(source: Path) -> None:
    connection.close()  # the restore writes the file this process may have open
    target = _sqlite_path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    db = sqlite3.connect(target)
    try:
        backup.backup(db)
        db.execute("PRAGMA journal_mode=WAL")  # what Helpline runs SQLite in
    except sqlite3.Error as exc:
        raise BackupError(f"cannot restore into {target}: {exc}") from exc
    finally:
        db.close()
        backup.close()


# --- PostgreSQL -------------------------------------------------------------------------
def _pg_program(name: str, pg_bin: str | None) -> str:
    directory = pg_bin or settings.HELPLINE_PG_BIN or None
    found = shutil.which(name, path=directory)
    if found is None:
        where = directory or "the PATH"
        raise BackupError(
            f"{name} not found in {where}: install PostgreSQL's client programs "
            "(Debian: postgresql-client) or name their directory with --pg-bin"
        )
    return found


def _pg_environment() -> dict[str, str]:
    """libpq's variables for the configured database: the password never appears on
    a command line."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    pairs = {
        "PGHOST": db.get("HOST"),
        "PGPORT": db.get("PORT"),
        "PGUSER": db.get("USER"),
        "PGPASSWORD": db.get("PASSWORD"),
        "PGDATABASE": db.get("NAME"),
    }
    options = db.get("OPTIONS") or {}
    for option in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        pairs[f"PG{option.upper()}"] = options.get(option)
    env.update({key: str(value) for key, value in pairs.items() if value})
    return env


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(  # noqa: S603 (a program found by name, our arguments)
        command,
        env=_pg_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        detail = done.stderr.strip() or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def _pg_tables(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )
    return [str(name) for (name,) in cursor.fetchall()]


def dump_postgres(target: Path, *, pg_bin: str | None) -> Snapshot:
    pg_dump = _pg_program("pg_dump", pg_bin)
    connection.ensure_connection()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT current_setting('transaction_isolation')")
        if cursor.fetchone()[0] != "repeatable read":
            raise BackupError("could not start a snapshot transaction")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot_id = str(cursor.fetchone()[0])
        snapshot = _read_snapshot(cursor, _pg_tables(cursor))
        # The transaction stays open until pg_dump is done: the snapshot lives on.
        _run(
            [pg_dump, "--format=custom", f"--snapshot={snapshot_id}",
             "--no-password", f"--file={target}"],
            "pg_dump",
        )  # fmt: skip
    return snapshot


def postgres_tables_in_target() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1"
        )
        return [str(name) for (name,) in cursor.fetchall()]


def restore_postgres(source: Path, *, pg_bin: str | None) -> None:
    pg_restore = _pg_program("pg_restore", pg_bin)
    name = str(settings.DATABASES["default"]["NAME"])
    connection.close()
    # One transaction: a failure leaves the database as empty as it was.  The
    # restoring role owns what it creates (the original role may not exist here).
    _run(
        [pg_restore, "--single-transaction", "--exit-on-error", "--no-owner",
         "--no-privileges", "--no-password", f"--dbname={name}", str(source)],
        "pg_restore",
    )  # fmt: skip


def server_version() -> str:
    with connection.cursor() as cursor:
        if vendor() == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        return str(cursor.fetchone()[0])
