"""``helpline backup DEST``: a consistent backup of a running instance.

1. Take DEST/.lock (one backup at a time).
2. Dump the database in one snapshot into DEST/.partial-<set>/ and read, in the same
   snapshot, the blobs that live in the storage (helpline/backup/database.py).
3. Copy those blobs into DEST/blobs/ unless a former backup has them, checking each
   copy against its SHA-256.  Nothing in Helpline deletes a blob, so every blob the
   snapshot names is still in the storage.
4. Write manifest.json, rename the set into place, and with ``keep`` prune older sets
   and the blobs no remaining set names.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import helpline
from helpline.backup import blobs, database
from helpline.backup.manifest import (
    BLOBS,
    FORMAT,
    MANIFEST,
    PARTIAL,
    BackupError,
    complete_sets,
    fsync_dir,
    hash_file,
    locked,
    write_json_durably,
)

Progress = Callable[[str], None]


@dataclass
class BackupResult:
    set: str
    path: str
    database: str
    database_bytes: int
    blobs_in_storage: int
    blobs_copied: int
    bytes_copied: int
    inline_blobs: int
    dump_seconds: float
    blob_seconds: float
    seconds: float
    pruned_sets: list[str]
    pruned_blobs: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _set_name(root: Path, started: datetime) -> str:
    name = started.strftime("%Y-%m-%dT%H%M%SZ")
    n = 1
    candidate = name
    while (root / candidate).exists():
        n += 1
        candidate = f"{name}.{n}"
    return candidate


def make_backup(
    root: Path,
    *,
    keep: int | None = None,
    pg_bin: str | None = None,
    progress: Progress | None = None,
) -> BackupResult:
    """Back up the database and its blobs into a new set in ``root``."""
    say = progress or (lambda _text: None)
    root = root.resolve()
    with locked(root, exclusive=True):
        for stale in root.glob(f"{PARTIAL}*"):  # left by a backup that died
            shutil.rmtree(stale)
        started = datetime.now(UTC)
        begun = time.monotonic()
        name = _set_name(root, started)
        partial = root / f"{PARTIAL}{name}"
        partial.mkdir(mode=0o700)
        try:
            result = _write_set(root, partial, name, started, pg_bin=pg_bin, say=say)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        partial.rename(root / name)
        fsync_dir(root)
        if keep:
            result.pruned_sets, result.pruned_blobs = prune(root, keep)
        result.seconds = round(time.monotonic() - begun, 3)
        return result


def _write_set(
    root: Path,
    partial: Path,
    name: str,
    started: datetime,
    *,
    pg_bin: str | None,
    say: Progress,
) -> BackupResult:
    """The database dump, the new blobs and the manifest of one set."""
    clock = time.monotonic()
    vendor = database.vendor()
    if vendor == "postgresql":
        db_file = partial / database.PG_FILE
        snapshot = database.dump_postgres(db_file, pg_bin=pg_bin)
    elif vendor == "sqlite":
        db_file = partial / database.SQLITE_FILE
        snapshot = database.dump_sqlite(db_file)
    else:
        raise BackupError(f"backing up a {vendor} database is not supported")
    dump_seconds = time.monotonic() - clock
    db_sha, db_size = hash_file(db_file)
    say(f"database: {db_size} bytes in {dump_seconds:.1f} s")

    clock = time.monotonic()
    (root / BLOBS).mkdir(mode=0o700, exist_ok=True)
    copied = copied_bytes = 0
    for sha, size in snapshot.stored_blobs:
        if blobs.copy_out(root, sha, size):
            copied += 1
            copied_bytes += size
    blob_seconds = time.monotonic() - clock
    say(
        f"blobs: {len(snapshot.stored_blobs)} in the storage, {copied} new "
        f"({copied_bytes} bytes) in {blob_seconds:.1f} s"
    )
    manifest = {
        "format": FORMAT,
        "helpline_version": helpline.__version__,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "database": {
            "vendor": vendor,
            "server_version": database.server_version(),
            "file": db_file.name,
            "sha256": db_sha,
            "size": db_size,
        },
        "migrations": snapshot.migrations,
        "tables": snapshot.tables,
        "blobs": {
            "stored": snapshot.stored_blobs,
            "inline_count": snapshot.inline_blobs,
            "inline_bytes": snapshot.inline_bytes,
        },
    }
    write_json_durably(partial / MANIFEST, manifest)
    return BackupResult(
        set=name,
        path=str(root / name),
        database=vendor,
        database_bytes=db_size,
        blobs_in_storage=len(snapshot.stored_blobs),
        blobs_copied=copied,
        bytes_copied=copied_bytes,
        inline_blobs=snapshot.inline_blobs,
        dump_seconds=round(dump_seconds, 3),
        blob_seconds=round(blob_seconds, 3),
        seconds=0.0,
        pruned_sets=[],
        pruned_blobs=0,
    )


def prune(root: Path, keep: int) -> tuple[list[str], int]:
    """Delete all but the ``keep`` newest sets, then every blob file no remaining set
    names (called under the exclusive lock)."""
    sets = complete_sets(root)
    doomed = sets[:-keep] if keep < len(sets) else []
    for old in doomed:
        shutil.rmtree(old.path)
    named = {sha for kept in sets[len(doomed) :] for sha, _size in kept.stored_blobs}
    removed = 0
    for path in sorted((root / BLOBS).glob("*/*/*")):
        if path.name not in named and path.is_file():
            path.unlink()
            removed += 1
    return [old.name for old in doomed], removed
