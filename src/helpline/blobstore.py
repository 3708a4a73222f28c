"""Writing and reading content-addressed blobs: in the database row, or in the blob
store — a directory (``HELPLINE_BLOB_STORE=file``) or an S3 bucket (``s3``, through
django-storages and boto3); docs/object-store.md.

Every byte Helpline keeps outside the database goes through this module.  A store that
cannot be reached raises ``BlobStoreUnavailable`` (a 503 page, SMTP 451, a retry of the
job); an object that is not there raises ``BlobMissing`` (a 404 page).  Neither is ever
a traceback for a user.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.core.signals import setting_changed
from django.db import models, transaction
from django.dispatch import receiver

from helpline.errors import HelplineError
from helpline.models import Blob

log = logging.getLogger(__name__)

STORES = ("file", "s3")
CHUNK = 256 * 1024


class BlobMissing(HelplineError):
    """The blob's row is there but its object is not (lost, or never copied)."""

    code = "blob_missing"
    http_status = 404


class BlobStoreUnavailable(HelplineError):
    """The blob store did not answer, or refused: try again later."""

    code = "blob_store_unavailable"
    http_status = 503


# -- the stores ---------------------------------------------------------------------
def _s3_storage() -> Storage:
    from botocore.config import Config
    from storages.backends.s3 import S3Storage

    timeout = settings.HELPLINE_S3_TIMEOUT
    return S3Storage(
        bucket_name=settings.HELPLINE_S3_BUCKET,
        endpoint_url=settings.HELPLINE_S3_ENDPOINT_URL or None,
        region_name=settings.HELPLINE_S3_REGION or None,
        access_key=settings.HELPLINE_S3_ACCESS_KEY_ID or None,
        secret_key=settings.HELPLINE_S3_SECRET_ACCESS_KEY or None,
        location=settings.HELPLINE_S3_PREFIX.strip("/"),
        addressing_style=settings.HELPLINE_S3_ADDRESSING_STYLE or None,
        file_overwrite=True,
        default_acl=None,
        querystring_auth=False,
        client_config=Config(
            connect_timeout=timeout,
            read_timeout=timeout * 4,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": settings.HELPLINE_S3_ADDRESSING_STYLE or "auto"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


@functools.cache
def storage_for(kind: str) -> Storage:
    """The store of this kind, configured by the settings (one per process)."""
    if kind == "s3":
        return _s3_storage()
    if kind == "file":
        return FileSystemStorage(location=settings.MEDIA_ROOT)
    raise ValueError(f"unknown blob store {kind!r}")


def current() -> Storage:
    """The store in use: HELPLINE_BLOB_STORE."""
    return storage_for(settings.HELPLINE_BLOB_STORE)


def reset() -> None:
    """Forget the configured stores (after a change of settings)."""
    storage_for.cache_clear()


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("HELPLINE_S3_") or setting in {
        "HELPLINE_BLOB_STORE",
        "MEDIA_ROOT",
    }:
        reset()


def _missing(exc: BaseException) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status == 404 or code in {"404", "NoSuchKey", "NotFound"}
    return False


@contextlib.contextmanager
def _translated(name: str) -> Iterator[None]:
    """Turn the storage's exceptions into BlobMissing / BlobStoreUnavailable."""
    try:
        yield
    except HelplineError:
        raise
    except Exception as exc:
        if _missing(exc):
            raise BlobMissing(
                f"The stored file {name.rsplit('/', 1)[-1][:12]}… is missing from the "
                "blob store; an administrator can check with 'helpline blobs verify'."
            ) from exc
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, BotoCoreError | ClientError | OSError):
            log.warning("blob store: %s: %s", type(exc).__name__, exc)
            raise BlobStoreUnavailable(
                "The blob store is not reachable just now; try again in a minute."
            ) from exc
        raise


# -- writing ------------------------------------------------------------------------
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


def write_object(storage: Storage, name: str, data: bytes) -> None:
    """Write ``data`` as ``name``; returns once the store has confirmed the write
    (fsynced file; S3 answered the PUT)."""
    with _translated(name):
        if isinstance(storage, FileSystemStorage):
            _write_durably(storage, name, data)
        else:  # object stores write whole objects
            storage.save(name, ContentFile(data))


# The blobs ``store_blob`` wrote to the store while ``kept_only_if_committed`` runs.
_written: ContextVar[list[str] | None] = ContextVar(
    "helpline_blobs_written", default=None
)


@contextlib.contextmanager
def kept_only_if_committed() -> Iterator[None]:
    """Blobs written to the store inside this block whose rows do not exist once it
    ends (the caller's transaction was rolled back, e.g. an import's ``--dry-run``)
    are deleted again, so that a rollback leaves no orphan objects behind.  A blob
    another writer stored meanwhile under the same SHA-256 has a row and is kept."""
    written: list[str] = []
    token = _written.set(written)
    try:
        yield
    finally:
        _written.reset(token)
        shas = {name.rsplit("/", 1)[-1]: name for name in written}
        kept = set(
            Blob.objects.filter(sha256__in=list(shas)).values_list("sha256", flat=True)
        )
        storage = current()
        for sha, name in shas.items():
            if sha not in kept:
                delete_object(storage, name)


def store_blob(data: bytes, *, expect_new: bool = False) -> Blob:
    """Store ``data`` once (by SHA-256) and return its row; safe to call concurrently.

    Up to HELPLINE_INLINE_BLOB_BYTES the bytes go into the row (one durable write with
    the transaction); larger blobs are written to the blob store (and confirmed) before
    the row.  ``expect_new``: the caller knows the bytes are almost surely not stored
    yet (a message just received), so the look-ups before the write are skipped.
    Raises ``BlobStoreUnavailable`` when the store cannot take them.
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
    else:
        storage = current()
        with _translated(blob.path):
            present = not expect_new and storage.exists(blob.path)
        if not present:
            write_object(storage, blob.path, data)
            written = _written.get()
            if written is not None:
                written.append(blob.path)
    # One statement and no savepoint, even when another writer stored the same bytes
    # meanwhile: the conflict "updates" the row to what it is and returns its id.
    Blob.objects.bulk_create(
        [blob], update_conflicts=True, unique_fields=["sha256"], update_fields=["size"]
    )
    if blob.pk is None:  # a database that cannot return ids from an upsert
        return Blob.objects.defer("data").get(sha256=sha)
    return blob


# -- reading ------------------------------------------------------------------------
def _inline(blob: Blob) -> bytes | None:
    if "data" in blob.get_deferred_fields():
        data = Blob.objects.filter(pk=blob.pk).values_list("data", flat=True).first()
    else:
        data = blob.data
    return None if data is None else bytes(data)


def open_object(storage: Storage, name: str) -> BinaryIO:
    """The object as a file read from the start; an S3 object streams (nothing is
    written to a local disk)."""
    with _translated(name):
        if isinstance(storage, FileSystemStorage):
            return open(storage.path(name), "rb")  # noqa: SIM115 - the caller closes
        key = storage._normalize_name(name)  # type: ignore[attr-defined]
        body = storage.bucket.Object(key).get()["Body"]  # type: ignore[attr-defined]
        return body


def iter_object(storage: Storage, name: str) -> Iterator[bytes]:
    """The object's bytes in chunks; errors while reading are translated too."""
    handle = open_object(storage, name)
    try:
        while True:
            with _translated(name):
                chunk = handle.read(CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        handle.close()


def read_blob(blob: Blob) -> bytes:
    """The blob's bytes, from its row or from the blob store."""
    data = _inline(blob)
    if data is not None:
        return data
    return b"".join(iter_object(current(), blob.path))


def blob_chunks(blob: Blob) -> bytes | Iterator[bytes]:
    """The blob for a download: its bytes when small, else an iterator that streams
    it from the store.  The object is opened here, so that a missing object or an
    unreachable store raises before a response starts."""
    data = _inline(blob)
    if data is not None:
        return data
    storage = current()
    handle = open_object(storage, blob.path)

    def chunks() -> Iterator[bytes]:
        try:
            while True:
                try:
                    chunk = handle.read(CHUNK)
                except Exception:  # the response has started: cut it short, logged
                    log.exception("blob %s: reading failed mid-download", blob.sha256)
                    return
                if not chunk:
                    return
                yield chunk
        finally:
            handle.close()

    return chunks()


# -- listing (helpline blobs) -------------------------------------------------------
@dataclass(frozen=True)
class StoredObject:
    name: str  # the blob's storage name, blobs/ab/cd/<sha256>
    size: int
    modified: datetime


def list_objects(storage: Storage) -> Iterator[StoredObject]:
    """Every blob object in ``storage`` (under ``blobs/``)."""
    from datetime import UTC

    with _translated("blobs/"):
        if isinstance(storage, FileSystemStorage):
            root = storage.path("blobs")
            for directory, _dirs, files in os.walk(root):
                for file in files:
                    if file.startswith(".tmp-"):
                        continue
                    path = os.path.join(directory, file)
                    stat = os.stat(path)
                    name = os.path.relpath(path, storage.path("")).replace(os.sep, "/")
                    yield StoredObject(
                        name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)
                    )
            return
        location = storage.location  # type: ignore[attr-defined]
        prefix = f"{location}/blobs/" if location else "blobs/"
        client = storage.connection.meta.client  # type: ignore[attr-defined]
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=storage.bucket_name,  # type: ignore[attr-defined]
            Prefix=prefix,
        )
        for page in pages:
            for item in page.get("Contents", []):
                key: str = item["Key"]
                yield StoredObject(
                    key[len(prefix) - len("blobs/") :],
                    int(item["Size"]),
                    item["LastModified"],
                )


def hash_object(storage: Storage, name: str) -> str:
    """The SHA-256 of the object's bytes, read as a stream."""
    digest = hashlib.sha256()
    for chunk in iter_object(storage, name):
        digest.update(chunk)
    return digest.hexdigest()


def delete_object(storage: Storage, name: str) -> None:
    with _translated(name):
        storage.delete(name)


# -- releasing ----------------------------------------------------------------------
def _referencing() -> list[tuple[Any, str]]:
    """(model, field name) of every foreign key to a blob, found from the models, so
    that a model added later is counted without anyone remembering this function."""
    return [
        (rel.related_model, rel.field.name)
        for rel in Blob._meta.get_fields(include_hidden=True)
        if isinstance(rel, models.ManyToOneRel) and rel.field.concrete
    ]


def release(blob_ids: Iterable[int]) -> list[str]:
    """Delete the blobs of ``blob_ids`` that no row refers to any more (an attachment,
    a raw mail, an outbox message, a template's file ...); returns their SHA-256s.

    Call it inside the transaction that dropped the references: the blob rows are
    locked, counted and deleted with it, and their objects in the blob store are
    deleted once it has committed (never when it is rolled back).  Bytes another row
    still refers to stay (the same logo in a thousand signatures).
    """
    ids = sorted({int(i) for i in blob_ids if i is not None})
    if not ids:
        return []
    candidates = {
        pk: (sha, external)
        for pk, sha, external in Blob.objects.select_for_update()
        .filter(pk__in=ids)
        .annotate(
            external=models.ExpressionWrapper(
                models.Q(data__isnull=True), output_field=models.BooleanField()
            )
        )
        .values_list("pk", "sha256", "external")
    }
    for model, name in _referencing():
        used = model._default_manager.filter(
            **{f"{name}__in": list(candidates)}
        ).values_list(name, flat=True)
        for pk in set(used):
            candidates.pop(pk, None)
        if not candidates:
            return []
    Blob.objects.filter(pk__in=list(candidates)).delete()
    external = [sha for sha, is_external in candidates.values() if is_external]
    if external:
        transaction.on_commit(lambda: _delete_objects(external))
    return [sha for sha, _ in candidates.values()]


def _delete_objects(shas: list[str]) -> None:
    """Delete the objects of blobs whose rows are gone (after the commit).  A row
    stored again meanwhile under the same SHA-256 keeps its object; an object that
    cannot be deleted now is an orphan that ``helpline blobs check
    --delete-orphans`` removes later."""
    again = set(Blob.objects.filter(sha256__in=shas).values_list("sha256", flat=True))
    storage = current()
    for sha in shas:
        if sha in again:
            continue
        try:
            delete_object(storage, Blob(sha256=sha, size=0).path)
        except (BlobMissing, BlobStoreUnavailable) as exc:
            log.warning("blob %s not deleted from the store: %s", sha, exc.message)
