"""Requests per minute per token (or per browser session), counted in Django's cache.

A fixed one-minute window: simple, one cache round trip per request, and good enough to
stop a runaway script.  With the default local-memory cache each server process counts
for itself; configure a shared cache (Redis, database) to count across processes.
``HELPLINE_API_RATE_LIMIT = 0`` switches the limit off.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache

from helpline.api.errors import ApiError

WINDOW_SECONDS = 60
DEFAULT_LIMIT = 600


def limit_per_minute() -> int:
    return int(getattr(settings, "HELPLINE_API_RATE_LIMIT", DEFAULT_LIMIT))


def count_request(client: str) -> None:
    """Count one request of ``client``; raise 429 when it is over its limit."""
    limit = limit_per_minute()
    if limit <= 0:
        return
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"helpline:api-rate:{client}:{window}"
    if cache.add(key, 1, timeout=WINDOW_SECONDS + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: a new window began
            cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
            count = 1
    if count > limit:
        wait = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise ApiError(
            429,
            "rate_limited",
            f"More than {limit} requests in a minute; try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
