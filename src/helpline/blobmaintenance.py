"""Moving blobs between stores and checking a store against the database
(``helpline blobs``, docs/object-store.md).

Only blobs larger than HELPLINE_INLINE_BLOB_BYTES have an object; smaller ones live in
their row and need nothing.  ``migrate`` copies every object the target lacks, reads
the copy back and compares its SHA-256: killed, it can simply be run again.  ``verify``
reads every object a row needs and lists the objects no row needs (orphans).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from helpline.blobstore import (
    STORES,
    BlobMissing,
    StoredObject,
    delete_object,
    hash_object,
    iter_object,
    list_objects,
    storage_for,
    write_object,
)
from helpline.models import Blob

Progress = Callable[[str], None]
# A progress line at most this often (seconds), and at the end.
PROGRESS_EVERY = 2.0


def _quiet(line: str) -> None:
    pass


def external_blobs() -> Iterator[tuple[str, int]]:
    """(sha256, size) of every blob kept outside the database, in id order, read in
    pages so a million rows never sit in memory at once."""
    last = 0
    while True:
        page = list(
            Blob.objects.filter(data__isnull=True, pk__gt=last)
            .order_by("pk")
            .values_list("pk", "sha256", "size")[:1000]
        )
        if not page:
            return
        for pk, sha, size in page:
            last = pk
            yield sha, size


def name_of(sha: str) -> str:
    return Blob(sha256=sha, size=0).path


class _Ticker:
    def __init__(self, progress: Progress, total: int, verb: str) -> None:
        self.progress, self.total, self.verb = progress, total, verb
        self.done = 0
        self.bytes = 0
        self.started = self.last = time.monotonic()

    def step(self, size: int) -> None:
        self.done += 1
        self.bytes += size
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY or self.done == self.total:
            self.last = now
            rate = self.bytes / max(now - self.started, 1e-6) / 1e6
            self.progress(
                f"{self.verb} {self.done}/{self.total} "
                f"({self.bytes / 1e6:.1f} MB, {rate:.1f} MB/s)"
            )


@dataclass
class MigrateReport:
    total: int = 0
    copied: int = 0
    copied_bytes: int = 0
    present: int = 0
    problems: list[str] = field(default_factory=list)


def migrate(
    to: str, *, verify_existing: bool = False, progress: Progress = _quiet
) -> MigrateReport:
    """Copy every external blob that ``to`` lacks from the other store, verified.

    An object already in the target counts as copied when its size is right (with
    ``verify_existing``: when its SHA-256 is); one with the wrong size or hash is
    copied again.  Nothing is deleted from the source.
    """
    if to not in STORES:
        raise ValueError(f"unknown blob store {to!r}")
    source = storage_for("file" if to == "s3" else "s3")
    target = storage_for(to)
    report = MigrateReport(total=Blob.objects.filter(data__isnull=True).count())
    there = {obj.name: obj.size for obj in list_objects(target)}
    ticker = _Ticker(progress, report.total, "checked")
    for sha, size in external_blobs():
        name = name_of(sha)
        if there.get(name) == size and (
            not verify_existing or _hash_or_none(target, name) == sha
        ):
            report.present += 1
            ticker.step(0)
            continue
        try:
            data = b"".join(iter_object(source, name))
        except BlobMissing:
            report.problems.append(f"{name}: not in the source store")
            ticker.step(0)
            continue
        if _sha(data) != sha:
            report.problems.append(f"{name}: damaged in the source store")
            ticker.step(0)
            continue
        write_object(target, name, data)
        if hash_object(target, name) != sha:
            report.problems.append(f"{name}: the copy read back differs")
            ticker.step(0)
            continue
        report.copied += 1
        report.copied_bytes += size
        ticker.step(size)
    return report


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _hash_or_none(storage: object, name: str) -> str | None:
    try:
        return hash_object(storage, name)  # type: ignore[arg-type]
    except BlobMissing:
        return None


@dataclass
class VerifyReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[StoredObject] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt


def verify(
    kind: str | None = None,
    *,
    delete_orphans: bool = False,
    older_than: timedelta = timedelta(days=1),
    progress: Progress = _quiet,
) -> VerifyReport:
    """Check every external blob's object in the store ``kind`` (default: the one in
    use) by its SHA-256, and list the objects no blob row refers to; with
    ``delete_orphans``, delete those older than ``older_than`` (a younger one may
    belong to a row not committed yet)."""
    storage = storage_for(kind or settings.HELPLINE_BLOB_STORE)
    report = VerifyReport()
    total = Blob.objects.filter(data__isnull=True).count()
    ticker = _Ticker(progress, total, "verified")
    for sha, size in external_blobs():
        name = name_of(sha)
        report.checked += 1
        actual = _hash_or_none(storage, name)
        if actual is None:
            report.missing.append(name)
        elif actual != sha:
            report.corrupt.append(name)
        ticker.step(size)
    known = set(Blob.objects.values_list("sha256", flat=True).iterator())
    cutoff = timezone.now() - older_than
    for obj in list_objects(storage):
        if obj.name.rsplit("/", 1)[-1] in known:
            continue
        report.orphans.append(obj)
        if delete_orphans and obj.modified < cutoff:
            delete_object(storage, obj.name)
            report.deleted.append(obj.name)
    return report
