"""Copying blobs between the storage and a backup directory, checking every byte.

Blobs are reached only through the Storage API (``open``, ``save``, ``listdir``) of the
store blobs live in (``blob_storage``) and the ``Blob`` model's storage name, so a
file-system store and an object store are backed up and restored alike.  Blobs are content-addressed
and never rewritten: a blob copied after the database snapshot is the blob the
snapshot refers to, and one already in the backup directory need not be copied again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage, default_storage

from helpline.backup.manifest import CHUNK, BackupError, blob_file, fsync_dir, hash_file
from helpline.models import Blob


def blob_storage() -> Storage:
    """The store blobs live in: the blob store's choice (``blobstore.current``: a
    directory or an S3 bucket) where it offers one, else Django's default storage."""
    from helpline import blobstore

    current = getattr(blobstore, "current", None)
    return current() if callable(current) else default_storage


def _missing(exc: BaseException) -> bool:
    """Whether the storage said "no such object" (a file system or S3's 404)."""
    if isinstance(exc, FileNotFoundError):
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(response.get("Error", {}).get("Code", ""))
        return status == 404 or code in {"404", "NoSuchKey", "NotFound"}
    return False


def storage_name(sha: str) -> str:
    return Blob(sha256=sha).path


def copy_out(root: Path, sha: str, size: int) -> bool:
    """Copy a blob from the storage into the backup directory unless it is there;
    whether it was copied.  The copy is checked against its hash before it counts."""
    target = blob_file(root, sha)
    if target.exists():
        return False
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    digest = hashlib.sha256()
    copied = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with blob_storage().open(storage_name(sha), "rb") as source:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        copied += len(chunk)
                        out.write(chunk)
            except Exception as exc:
                if _missing(exc):
                    raise BackupError(
                        f"blob {sha} is in the database but not in the storage: was "
                        "it deleted during the backup?"
                    ) from None
                raise BackupError(
                    f"cannot read blob {sha} from the storage: {exc}"
                ) from exc
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha or copied != size:
            raise BackupError(
                f"blob {sha} in the storage is damaged: {copied} bytes with "
                f"SHA-256 {digest.hexdigest()}, expected {size} bytes"
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)
    return True


def check_file(root: Path, sha: str, size: int) -> str | None:
    """What is wrong with a blob in the backup directory, or None."""
    path = blob_file(root, sha)
    try:
        found, length = hash_file(path)
    except FileNotFoundError:
        return f"blob {sha} is missing ({path})"
    if found != sha or length != size:
        return f"blob {sha} is damaged: {length} bytes with SHA-256 {found} ({path})"
    return None


def copy_in(root: Path, sha: str) -> None:
    """Write a blob from the backup directory into the (empty) storage."""
    name = storage_name(sha)
    with blob_file(root, sha).open("rb") as fh:
        saved = blob_storage().save(name, File(fh))
    if saved != name:  # the storage chose another name: the name was taken
        raise BackupError(f"the storage already holds {name}")


def check_stored(sha: str, size: int) -> str | None:
    """What is wrong with a blob as the storage returns it, or None."""
    digest = hashlib.sha256()
    length = 0
    try:
        with blob_storage().open(storage_name(sha), "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                length += len(chunk)
    except Exception as exc:
        if _missing(exc):
            return f"blob {sha} is missing from the storage"
        raise BackupError(f"cannot read blob {sha} from the storage: {exc}") from exc
    if digest.hexdigest() != sha or length != size:
        return f"blob {sha} in the storage is damaged after the restore"
    return None


def storage_entries() -> list[str]:
    """The top-level entries of the storage (empty when it does not exist yet)."""
    try:
        directories, files = blob_storage().listdir("")
    except Exception as exc:
        if _missing(exc):
            return []
        raise BackupError(f"cannot list the storage: {exc}") from exc
    return sorted([*directories, *files])


def storage_location() -> str:
    storage = blob_storage()
    location = getattr(storage, "location", "")
    bucket = getattr(storage, "bucket_name", "")
    return str(f"{bucket}/{location}" if bucket else location or type(storage).__name__)
