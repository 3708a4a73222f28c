"""Whether this process can serve: the database, Redis and the blob store answer.

Each check returns ``None`` when the part is reachable, else a short reason for
people (the exception's text goes to the log and to ``helpline status``, not to an
unauthenticated client).  A check costs one round trip at most.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import connections

log = logging.getLogger(__name__)
NOT_CONFIGURED = "not configured"
# How long /readyz waits for Redis before calling it unreachable.
REDIS_TIMEOUT_SECONDS = 2.0


@dataclass
class Check:
    name: str
    ok: bool
    reason: str = ""  # short, for any client
    detail: str = ""  # the error itself, for operators


@dataclass
class Readiness:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.reason}" for c in self.checks if not c.ok]

    def as_dict(self, *, detail: bool = False) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "unavailable",
            "checks": {
                c.name: (
                    c.reason or "ok"
                    if not detail or c.ok
                    else f"{c.reason}: {c.detail}"
                )
                for c in self.checks
            },
        }


def check_all() -> Readiness:
    return Readiness([check_database(), check_redis(), check_blobs()])


def _failed(name: str, reason: str, exc: BaseException) -> Check:
    detail = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    log.warning("readiness: %s %s (%s)", name, reason, detail)
    return Check(name, False, reason, detail)


def check_database() -> Check:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        # A broken persistent connection must not be reused by the next request.
        with contextlib.suppress(Exception):  # closing a dead one may fail too
            connection.close()
        return _failed("database", "unreachable", exc)
    return Check("database", True)


@cache
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def check_redis() -> Check:
    url = settings.HELPLINE_REDIS_URL
    if not url:
        return Check("redis", True, NOT_CONFIGURED)
    try:
        _redis_client(url).ping()
    except Exception as exc:
        return _failed("redis", "unreachable", exc)
    return Check("redis", True)


def _blob_storage() -> Storage:
    """The store blobs are written to: ``blobstore.current()`` where the blob store
    module chooses one (the file system or an S3 bucket), else Django's default."""
    from helpline import blobstore

    current = getattr(blobstore, "current", None)
    return current() if callable(current) else default_storage


def check_blobs() -> Check:
    """Blobs on the file system: the directory (or the one it will be made in) is
    writable.  Other storages: one existence look-up answers."""
    try:
        storage = _blob_storage()
        if isinstance(storage, FileSystemStorage):
            path = Path(storage.location)
            while not path.exists() and path != path.parent:
                path = path.parent
            if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
                raise PermissionError(f"{storage.location} is not a writable directory")
        else:
            storage.exists("helpline-readiness-probe")
    except Exception as exc:
        return _failed("blobs", "unreachable", exc)
    return Check("blobs", True)
