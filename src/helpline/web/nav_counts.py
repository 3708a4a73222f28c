"""The counts of the navigation: mentions (header) and saved searches (side).

Every count is the viewing agent's own: the mentions on tickets it may read, the
tickets it may read that match each search (a shared search runs as the viewer, never
as its saver).  Neither grows with the tickets:

- the mentions: one count from the agent's mention rows, on every page (exact, so a
  mention leaves the count the moment the ticket is opened or dismissed);
- the saved searches (drawn beside the overviews): one query for the searches and
  a capped search (two statements) for each of the first ``NAV_SEARCHES``, cached per agent for
  ``HELPLINE_NAV_COUNTS_SECONDS`` (5; 0: always counted) like the queue counts;
  changing one's saved searches forgets the entry at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from helpline.actions import mentions, saved_searches

# Saved searches shown (and counted) in the navigation; the rest on their page.
NAV_SEARCHES = 10
T = TypeVar("T")


@dataclass(frozen=True)
class NavSearch:
    pk: int
    name: str
    url: str
    count: int
    capped: bool
    shared: bool


def _cached(key: str, compute: Callable[[], T]) -> T:
    seconds = int(getattr(settings, "HELPLINE_NAV_COUNTS_SECONDS", 5))
    if seconds > 0:
        cached = cache.get(key)
        if cached is not None:
            return cached
    value = compute()
    if seconds > 0:
        cache.set(key, value, seconds)
    return value


def mention_count(agent: Any) -> int:
    """Tickets under the agent's "Mentions" (one query)."""
    return mentions.mentioned_tickets(agent).count()


def search_counts(agent: Any) -> list[NavSearch]:
    """The agent's first saved searches with the number of matches it may read."""

    def compute() -> list[NavSearch]:
        run = reverse("saved-search-run", args=[2147483647])
        head, tail = run.rsplit("2147483647", 1)
        found = []
        for row in saved_searches.visible_saved_searches(agent)[:NAV_SEARCHES]:
            total, capped = saved_searches.count_matches(agent, row)
            found.append(
                NavSearch(
                    pk=row.pk,
                    name=row.name,
                    url=f"{head}{row.pk}{tail}",
                    count=total,
                    capped=capped,
                    shared=row.group_id is not None,
                )
            )
        return found

    return _cached(saved_searches.NAV_KEY.format(pk=agent.pk), compute)
