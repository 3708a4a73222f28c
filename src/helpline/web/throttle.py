"""Failed-login throttling: a few wrong passwords per login and address, then a pause.

Counted in Django's cache (shared between processes when the cache is: file-based or
Redis), keyed by a hash of the login and the client address, so a typo-prone agent on
one machine does not lock out a colleague elsewhere, and a guesser on one address is
slowed down for that login.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _key(login: str, request: HttpRequest) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{login.strip().lower()}\0{address}".encode()).hexdigest()
    return f"helpline:login-failures:{digest}"


def blocked(login: str, request: HttpRequest) -> bool:
    return int(cache.get(_key(login, request), 0)) >= MAX_FAILURES


def record_failure(login: str, request: HttpRequest) -> None:
    key = _key(login, request)
    # add() starts the window; incr() keeps its expiry.
    if not cache.add(key, 1, WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, WINDOW_SECONDS)


def forget(login: str, request: HttpRequest) -> None:
    cache.delete(_key(login, request))
