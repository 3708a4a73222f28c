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
