"""Requests per minute per token (or per browser session), counted in Django's cache.

A fixed one-minute window: simple, and good enough to stop a runaway script.  Counted
in the shared cache (the data directory's file cache or Redis) through
helpline.counters, so requests that arrive together are all counted.  Requests with a
wrong token count against their client address.  ``HELPLINE_API_RATE_LIMIT = 0``
switches the limit off.
"""

from __future__ import annotations

import math
import time

from django.conf import settings

from helpline import counters
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
    count = counters.hit(f"helpline:api-rate:{client}", window=WINDOW_SECONDS)
    if count > limit:
        now = time.time()
        wait = max(1, math.ceil((now // WINDOW_SECONDS + 1) * WINDOW_SECONDS - now))
        raise ApiError(
            429,
            "rate_limited",
            f"More than {limit} requests in a minute; try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
