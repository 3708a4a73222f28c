"""Writing and reading content-addressed blobs through Django's storage API."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage

from helpline.models import Blob


def _private_dirs(directory: str) -> None:
    """Make ``directory`` and its missing parents 0700 (``os.makedirs`` gives only
    the last one its ``mode``): attachments are for Helpline's user alone."""
    missing = []
    while directory and not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by a concurrent writer
            os.mkdir(path, 0o700)


def _write_durably(storage: FileSystemStorage, name: str, data: bytes) -> None:
    """Write via a temporary file, fsync, then rename: a crash never leaves half a blob."""
    path = storage.path(name)
    directory = os.path.dirname(path)
    _private_dirs(directory)
    # mkstemp creates the file 0600 whatever the umask; the rename keeps the mode.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def store_blob(data: bytes, *, expect_new: bool = False) -> Blob:
    """Store ``data`` once (by SHA-256) and return its row; safe to call concurrently.

    Up to HELPLINE_INLINE_BLOB_BYTES the bytes go into the row (one durable write with
    the transaction); larger blobs are written to storage (fsynced) before the row.
    ``expect_new``: the caller knows the bytes are almost surely not stored yet (a
    message just received), so the look-up before the insert is skipped.
    """
    sha = hashlib.sha256(data).hexdigest()
    if not expect_new:
        # A blob stored already (a logo in every signature) is only read, not locked.
        found = Blob.objects.filter(sha256=sha).defer("data").first()
        if found is not None:
            return found
    blob = Blob(sha256=sha, size=len(data))
    if len(data) <= settings.HELPLINE_INLINE_BLOB_BYTES:
        blob.data = data
    elif not default_storage.exists(blob.path):
        if isinstance(default_storage, FileSystemStorage):
            _write_durably(default_storage, blob.path, data)
        else:  # object stores write whole objects
            default_storage.save(blob.path, ContentFile(data))
    # One statement and no savepoint, even when another writer stored the same bytes
    # meanwhile: the conflict "updates" the row to what it is and returns its id.
    Blob.objects.bulk_create(
        [blob], update_conflicts=True, unique_fields=["sha256"], update_fields=["size"]
    )
    if blob.pk is None:  # a database that cannot return ids from an upsert
        return Blob.objects.defer("data").get(sha256=sha)
    return blob


def read_blob(blob: Blob) -> bytes:
    """The blob's bytes, from its row or from storage."""
    if "data" in blob.get_deferred_fields():
        data = Blob.objects.filter(pk=blob.pk).values_list("data", flat=True).first()
    else:
        data = blob.data
    if data is not None:
        return bytes(data)
    with default_storage.open(blob.path, "rb") as fh:
        content: bytes = fh.read()
    return content
