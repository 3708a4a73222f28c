"""Durations as sparse logarithmic histograms, so that a median or 90th percentile
over any number of days is read from per-day sums (docs/reports.md).

Bucket 0 holds durations under a minute; bucket ``i`` (1, 2, ...) holds
``[60 * RATIO**(i - 1), 60 * RATIO**i)`` seconds.  A percentile is the geometric
middle of the bucket that holds the exact value (the nearest-rank percentile), so it
is within ``sqrt(RATIO) - 1`` (9.6 %) of the exact value, or 30 seconds under a minute.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

RATIO = 1.2
_LOG = math.log(RATIO)
# sqrt(1.2) - 1, rounded up: the largest relative error of a percentile read.
RELATIVE_ERROR = 0.096


def bucket_of(seconds: float) -> int:
    if seconds < 60:
        return 0
    index = int(math.floor(math.log(seconds / 60) / _LOG)) + 1
    # Guard against rounding at a bucket's edge.
    if 60 * RATIO ** (index - 1) > seconds:
        index -= 1
    elif 60 * RATIO**index <= seconds:
        index += 1
    return index


def bucket_value(index: int) -> float:
    """The value reported for a bucket: its geometric middle (30 s for bucket 0)."""
    if index == 0:
        return 30.0
    return float(60 * RATIO ** (index - 1) * math.sqrt(RATIO))


def merge(histograms: Iterable[Mapping[str, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for histogram in histograms:
        for key, count in histogram.items():
            total[int(key)] = total.get(int(key), 0) + count
    return total


def percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """The nearest-rank percentile (the value of the ``ceil(fraction * n)``-th of the
    n durations in order), read as its bucket's value; None without durations."""
    n = sum(histogram.values())
    if n <= 0:
        return None
    rank = max(1, math.ceil(fraction * n))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return bucket_value(index)
    return None  # pragma: no cover - seen reaches n
