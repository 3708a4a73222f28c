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
    """Hosts sharing one Redis (each ``serve``, ``worker`` and this check record their
    host name and key fingerprint there): every host must reach the blobs and have the
    same secret key.  One host with Redis (for its cache and jobs) is fine with file
    blobs; the warning comes once a second host has announced itself."""
    if not settings.HELPLINE_REDIS_URL:
        return []
    try:
        hosts = record_key_fingerprint()
    except Exception as exc:  # Redis down: the jobs will say so louder
        return [
            Warning(
                f"Cannot compare the secret key with other hosts: Redis: {exc}",
                id="helpline.W022",
            )
        ]
    import socket

    warnings = []
    others = sorted(host for host in hosts if host != socket.gethostname())
    if settings.HELPLINE_BLOB_STORE == "file" and others:
        warnings.append(
            Warning(
                f"Blobs are kept on this host's file system ({settings.MEDIA_ROOT}) "
                f"but other hosts share this Redis ({', '.join(others)}): they cannot "
                "read them.",
                hint="Set HELPLINE_BLOB_STORE=s3 and run 'helpline blobs migrate "
                "--to s3' (docs/object-store.md), or share that directory. A host "
                "that is gone for good: remove its name from the Redis hash "
                f"'{settings.HUEY['name']}:{FINGERPRINTS}' (HDEL).",
                id="helpline.W020",
            )
        )
    if len(set(hosts.values())) > 1:
        mine = key_fingerprint()
        differ = sorted(host for host, value in hosts.items() if value != mine)
        warnings.append(
            Warning(
                "The secret key differs between hosts: "
                f"{', '.join(differ)} use(s) another key than this host; sessions "
                "and image links made on one host fail on the others.",
                hint="Give every host the same HELPLINE_SECRET_KEY, restart them, and "
                "run 'helpline check --deploy' on each.",
                id="helpline.W021",
            )
        )
    return warnings


def announce_host() -> None:
    """At the start of ``serve`` and ``worker``: record this host's key fingerprint
    (with Redis), and log a warning when another host's differs."""
    if not settings.HELPLINE_REDIS_URL:
        return
    import logging

    log = logging.getLogger(__name__)
    try:
        hosts = record_key_fingerprint()
    except Exception as exc:  # Redis down: the jobs will say so louder
        log.warning("could not record this host's secret key fingerprint: %s", exc)
        return
    mine = key_fingerprint()
    others = sorted(host for host, value in hosts.items() if value != mine)
    if others:
        log.warning(
            "the secret key differs on %s (helpline.W021, docs/object-store.md)",
            ", ".join(others),
        )
