"""``helpline restore SRC``: a backup set into an empty instance, every hash checked.

Before anything is written: every file of the set is checked against the manifest,
the set must be of the configured database's kind and of migrations this version
knows, and the database and the storage must be empty (a restore never mixes with
data that is there).  Then the database is restored (PostgreSQL: pg_restore in one
transaction; SQLite: the backup API into the new file), the blobs written into the
storage, and everything read back: the rows of every table counted against the
manifest, every blob hashed, inline ones in their rows as much as stored ones.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.migrations.loader import MigrationLoader

from helpline.backup import blobs, database
from helpline.backup.manifest import BackupError, BackupSet, find_set, hash_file, locked
from helpline.models import Blob

Progress = Callable[[str], None]
SHOWN_PROBLEMS = 10


@dataclass
class CheckResult:
    set: str
    path: str
    database: str
    files_checked: int
    blobs_checked: int
    bytes_checked: int
    seconds: float
    restored: bool = False
    pending_migrations: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fail(problems: list[str], what: str) -> BackupError:
    shown = "\n  ".join(problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return BackupError(f"{what}: {len(problems)} problem(s)\n  {shown}{tail}")


def _check_files(backup: BackupSet, progress: Progress) -> tuple[int, int, int]:
    problems = []
    db = backup.manifest["database"]
    db_path = backup.path / db["file"]
    try:
        sha, size = hash_file(db_path)
    except FileNotFoundError:
        problems.append(f"the database file {db_path} is missing")
    else:
        if sha != db["sha256"] or size != db["size"]:
            problems.append(
                f"the database file {db_path} is damaged: {size} bytes with SHA-256 "
                f"{sha}, the manifest says {db['size']} bytes with {db['sha256']}"
            )
    stored = backup.stored_blobs
    for sha, size in stored:
        problem = blobs.check_file(backup.root, sha, size)
        if problem:
            problems.append(problem)
    if problems:
        raise _fail(problems, f"the backup {backup.path} does not match its manifest")
    total = db["size"] + sum(size for _sha, size in stored)
    progress(f"checked: the database file and {len(stored)} blobs, {total} bytes")
    return 1, len(stored), total


def verify(source: Path, *, progress: Progress | None = None) -> CheckResult:
    """Check a backup set against its manifest without restoring anything."""
    say = progress or (lambda _text: None)
    clock = time.monotonic()
    source = source.resolve()
    with locked(_root_of(source), exclusive=False):
        backup = find_set(source)
        files, count, size = _check_files(backup, say)
    return CheckResult(
        backup.name, str(backup.path), backup.manifest["database"]["vendor"],
        files, count, size, round(time.monotonic() - clock, 3),
    )  # fmt: skip


def _root_of(source: Path) -> Path:
    return source.parent if (source / "manifest.json").exists() else source


def _check_target(backup: BackupSet) -> int:
    """Refuse unless the configured instance can take this set; the number of
    migrations this version will still have to apply."""
    vendor = database.vendor()
    kind = backup.manifest["database"]["vendor"]
    if kind != vendor:
        raise BackupError(
            f"the backup is of a {kind} database, the configured one is {vendor}: "
            "restore into the kind it was made from"
        )
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    applied = {(app, name) for app, name in backup.manifest["migrations"]}
    unknown = sorted(applied - known)
    if unknown:
        app, name = unknown[0]
        raise BackupError(
            f"the backup was made by a newer Helpline: migration {app}.{name} is "
            "unknown to this version; restore with the version that made it "
            f"({backup.manifest['helpline_version']})"
        )
    tables = (
        database.postgres_tables_in_target()
        if vendor == "postgresql"
        else database.sqlite_tables_in_target()
    )
    if tables:
        listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise BackupError(
            f"the database is not empty ({len(tables)} tables: {listed}); a restore "
            "needs an empty database: create a new one, or drop this one if you "
            "mean to replace it"
        )
    entries = blobs.storage_entries()
    if entries:
        raise BackupError(
            f"the attachment storage {blobs.storage_location()} is not empty (it "
            f"holds {', '.join(entries[:5])}); a restore needs an empty one"
        )
    return len(known - applied)


def restore(
    source: Path, *, pg_bin: str | None = None, progress: Progress | None = None
) -> CheckResult:
    """Restore a set into the configured, empty database and storage."""
    say = progress or (lambda _text: None)
    clock = time.monotonic()
    source = source.resolve()
    with locked(_root_of(source), exclusive=False):
        backup = find_set(source)
        say(f"restoring {backup.path}")
        pending = _check_target(backup)
        files, count, size = _check_files(backup, say)
        db_file = backup.path / backup.manifest["database"]["file"]
        if database.vendor() == "postgresql":
            database.restore_postgres(db_file, pg_bin=pg_bin)
        else:
            database.restore_sqlite(db_file)
        say("database restored")
        for sha, _size in backup.stored_blobs:
            blobs.copy_in(backup.root, sha)
        os.sync()  # the storage's files, written without fsync, are on disk now
        say(f"{count} blobs written to the storage")
        _check_restored(backup, say)
    return CheckResult(
        backup.name, str(backup.path), backup.manifest["database"]["vendor"],
        files, count, size, round(time.monotonic() - clock, 3), restored=True,
        pending_migrations=pending,
    )  # fmt: skip


def _check_restored(backup: BackupSet, say: Progress) -> None:
    """Read everything back: rows per table, every blob's bytes."""
    problems = []
    with connection.cursor() as cursor:
        for table, expected in backup.manifest["tables"].items():
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
            found = int(cursor.fetchone()[0])
            if found != expected:
                problems.append(
                    f"table {table}: {found} rows, the backup has {expected}"
                )
    for sha, size in backup.stored_blobs:
        problem = blobs.check_stored(sha, size)
        if problem:
            problems.append(problem)
    inline = _check_inline_blobs(problems)
    if problems:
        raise _fail(problems, "the restored instance does not match the backup")
    say(
        f"verified: {len(backup.manifest['tables'])} tables, "
        f"{len(backup.stored_blobs)} stored and {inline} inline blobs"
    )


def _check_inline_blobs(problems: list[str], batch: int = 2000) -> int:
    """Hash the bytes of every blob kept in its row, a batch of rows at a time."""
    checked = 0
    last = 0
    while True:
        rows = list(
            Blob.objects.filter(pk__gt=last, data__isnull=False)
            .order_by("pk")
            .values_list("pk", "sha256", "data")[:batch]
        )
        for pk, sha, data in rows:
            if hashlib.sha256(bytes(data or b"")).hexdigest() != sha:
                problems.append(f"blob {sha} (row {pk}) is damaged in the database")
        checked += len(rows)
        if len(rows) < batch:
            return checked
        last = rows[-1][0]
