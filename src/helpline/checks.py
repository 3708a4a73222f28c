"""System checks run by ``helpline check`` (and before ``serve``, ``migrate``...).

The data directory holds mail about living persons: the databases, attachments, the
secret key, the cache.  Helpline creates them readable by its own user only (the
``helpline`` command sets umask 0077; settings.py creates the directory 0700 and the
files 0600).  Files made by an older version, restored from a backup or copied by
hand may be looser: warn, and say what to run.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


def _private_paths() -> Iterable[Path]:
    data = Path(settings.DATA_DIR)
    yield data
    yield data / "secret_key"
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = Path(str(database["NAME"]))
        yield name
        yield from (name.with_name(name.name + end) for end in ("-wal", "-shm"))
    huey: dict[str, Any] = getattr(settings, "HUEY", {})
    connection = huey.get("connection") or {}
    if "filename" in connection:
        jobs = Path(str(connection["filename"]))
        yield jobs
        yield from (jobs.with_name(jobs.name + end) for end in ("-wal", "-shm"))
    yield Path(settings.MEDIA_ROOT)
    location = settings.CACHES["default"].get("LOCATION")
    if settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache") and location:
        yield Path(location)


def loose_paths() -> list[tuple[Path, int]]:
    """Existing paths among Helpline's private ones that others may read or enter."""
    loose = []
    seen = set()
    for path in _private_paths():
        if path in seen:
            continue
        seen.add(path)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if mode & 0o077:
            loose.append((path, mode))
    return loose


@register(Tags.security)
def check_file_modes(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    return [
        Warning(
            f"{path} has mode {mode:04o}: other users of this machine may read it.",
            hint=f"chmod {'700' if path.is_dir() else '600'} {path}"
            + (" (and chmod -R go-rwx for what is inside)" if path.is_dir() else ""),
            obj=str(path),
            id="helpline.W001",
        )
        for path, mode in loose_paths()
    ]


# --- several hosts (docs/object-store.md) ---------------------------------------------
FINGERPRINTS = "secret-key-fingerprints"


def key_fingerprint() -> str:
    """An HMAC of a fixed text under the secret key: equal keys give equal
    fingerprints, and the key cannot be recovered from one."""
    import hashlib
    import hmac

    return hmac.new(
        settings.SECRET_KEY.encode(), b"helpline secret key fingerprint", hashlib.sha256
    ).hexdigest()[:16]


def record_key_fingerprint() -> dict[str, str]:
    """Record this host's fingerprint in Redis; returns every host's."""
    import socket

    import redis

    client = redis.Redis.from_url(
        settings.HELPLINE_REDIS_URL, socket_timeout=3, decode_responses=True
    )
    key = f"{settings.HUEY['name']}:{FINGERPRINTS}"
    client.hset(key, socket.gethostname(), key_fingerprint())
    return {str(host): str(value) for host, value in client.hgetall(key).items()}


@register(Tags.security, deploy=True)
def check_several_hosts(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """With Redis (jobs shared by several hosts): blobs must be in a store every host
    reaches, and every host must have the same secret key."""
    if not settings.HELPLINE_REDIS_URL:
        return []
    warnings = []
    if settings.HELPLINE_BLOB_STORE == "file":
        warnings.append(
            Warning(
                "HELPLINE_REDIS_URL is set (several hosts) but blobs are kept on this "
                f"host's file system ({settings.MEDIA_ROOT}): the other hosts cannot "
                "read them.",
                hint="Set HELPLINE_BLOB_STORE=s3 and run 'helpline blobs migrate "
                "--to s3' (docs/object-store.md), or share that directory.",
                id="helpline.W020",
            )
        )
    try:
        hosts = record_key_fingerprint()
    except Exception as exc:  # Redis down: the jobs will say so louder
        return [
            *warnings,
            Warning(
                f"Cannot compare the secret key with other hosts: Redis: {exc}",
                id="helpline.W022",
            ),
        ]
    if len(set(hosts.values())) > 1:
        mine = key_fingerprint()
        others = sorted(host for host, value in hosts.items() if value != mine)
        warnings.append(
            Warning(
                "The secret key differs between hosts: "
                f"{', '.join(others)} use(s) another key than this host; sessions "
                "and image links made on one host fail on the others.",
                hint="Give every host the same HELPLINE_SECRET_KEY, restart them, and "
                "run 'helpline check --deploy' on each.",
                id="helpline.W021",
            )
        )
    return warnings
