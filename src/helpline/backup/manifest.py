"""A backup set's manifest, the layout of a backup directory, and hashing.

A backup directory (``helpline backup DEST``) holds::

    DEST/.lock                      held by the backup (exclusive) or a restore (shared)
    DEST/blobs/ab/cd/<sha256>       every stored blob once, shared by all sets
    DEST/<set>/database.sqlite3     or database.pgdump (pg_dump's custom format)
    DEST/<set>/manifest.json        written last: a set without one is incomplete

``<set>`` is the UTC time the backup began (``2026-12-06T031500Z``), so sets sort by
name.  The manifest names every file of the set with its SHA-256 and size, every blob
that lives in the storage (not inline in its row) with its SHA-256 and size, the
migrations applied and the rows of every table in the snapshot.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpline.errors import HelplineError

FORMAT = 1
MANIFEST = "manifest.json"
BLOBS = "blobs"
LOCK = ".lock"
PARTIAL = ".partial-"
CHUNK = 1024 * 1024


class BackupError(HelplineError):
    code = "backup_failed"


def blob_file(root: Path, sha: str) -> Path:
    """Where a blob lives in a backup directory (the storage's two-level fan-out)."""
    return root / BLOBS / sha[:2] / sha[2:4] / sha


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def fsync_dir(path: Path) -> None:
    """Make the renames and creations in a directory durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_durably(path: Path, data: Any) -> None:
    """Write via a temporary file, fsync, then rename: never half a manifest."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


@dataclass(frozen=True)
class BackupSet:
    """A complete set: its directory and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stored_blobs(self) -> list[tuple[str, int]]:
        return [(sha, int(size)) for sha, size in self.manifest["blobs"]["stored"]]


def read_set(path: Path) -> BackupSet:
    """The set in ``path``; a clear error when it is not one."""
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise BackupError(
            f"{path} is not a complete backup set: it has no {MANIFEST}"
        ) from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{manifest_path} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            f"{manifest_path} is not a Helpline backup manifest of format {FORMAT}"
        )
    return BackupSet(path, manifest)


def complete_sets(root: Path) -> list[BackupSet]:
    """The complete sets in a backup directory, oldest first."""
    if not root.is_dir():
        return []
    return [
        read_set(child)
        for child in sorted(root.iterdir())
        if child.is_dir() and (child / MANIFEST).is_file()
    ]


def find_set(source: Path) -> BackupSet:
    """``source`` is a set, or a backup directory: then its newest complete set."""
    if (source / MANIFEST).exists():
        return read_set(source)
    if not source.is_dir():
        raise BackupError(f"{source}: no such backup directory")
    sets = complete_sets(source)
    if not sets:
        raise BackupError(f"{source} holds no complete backup set")
    return sets[-1]


@contextlib.contextmanager
def locked(root: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold DEST/.lock: one backup at a time, and no pruning under a restore."""
    if exclusive:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif not root.is_dir():
        raise BackupError(f"{root}: no such backup directory")
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(
                fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
            )
        except BlockingIOError:
            raise BackupError(
                f"{root} is in use by another backup or restore "
                f"(it holds {root / LOCK}); try again when it has finished"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock
