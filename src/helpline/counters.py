"""Counters in Django's cache that count every hit, even hits that arrive together.

A counter counts hits in fixed windows of ``window`` seconds (aligned to the clock, as
the API's rate limit always did); each window is its own cache key, which expires with
it.

``cache.add`` and ``cache.incr`` are atomic in Redis, Memcached and the local-memory
cache, but Django's file-based cache (Helpline's default) implements ``incr`` as a read
followed by a write: forty requests at once would all read the same count.  For that
backend every change of a counter holds an exclusive ``flock`` on a lock file in the
cache directory, which serialises the threads and processes of every Helpline command
on the machine that share the directory.  (Its ``incr`` would also reset the key's
expiry to the default timeout; the locked path sets it explicitly.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.filebased import FileBasedCache

LOCK_NAME = "helpline-counters.lock"
# flock() also excludes other threads of this process as long as each holder opens the
# file itself; the thread lock just saves opening it for nothing.
_thread_lock = threading.Lock()


def _cache() -> BaseCache:
    return caches["default"]


@contextlib.contextmanager
def _file_lock(backend: FileBasedCache) -> Iterator[None]:
    directory = Path(backend._dir)  # type: ignore[attr-defined]  # noqa: SLF001
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _thread_lock:
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # and with it the lock


def _slot(key: str, window: int) -> str:
    return f"{key}:{int(time.time() // window)}"


def hit(key: str, *, window: int) -> int:
    """Count one hit of ``key`` and return the count of the current window."""
    backend, slot = _cache(), _slot(key, window)
    if isinstance(backend, FileBasedCache):
        with _file_lock(backend):
            count = int(backend.get(slot, 0)) + 1
            backend.set(slot, count, timeout=window)
            return count
    if backend.add(slot, 1, timeout=window):
        return 1
    try:
        return int(backend.incr(slot))
    except ValueError:  # expired between add() and incr(): the window just ended
        backend.add(slot, 1, timeout=window)
        return 1


def give_back(key: str, *, window: int) -> None:
    """Take one hit back (an attempt that turned out not to count)."""
    backend, slot = _cache(), _slot(key, window)
    if isinstance(backend, FileBasedCache):
        with _file_lock(backend):
            count = int(backend.get(slot, 0))
            if count > 0:
                backend.set(slot, count - 1, timeout=window)
        return
    with contextlib.suppress(ValueError):  # gone already
        backend.decr(slot)


def forget(key: str, *, window: int) -> None:
    """Start the current window of ``key`` from zero."""
    _cache().delete(_slot(key, window))


def current(key: str, *, window: int) -> int:
    return int(_cache().get(_slot(key, window), 0))
