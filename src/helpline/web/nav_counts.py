"""The counts of the navigation: mentions (header) and saved searches (side).

Every count is the viewing agent's own: the mentions on tickets it may read, the
tickets it may read that match each search (a shared search runs as the viewer, never
as its saver).  Neither grows with the tickets:

- the mentions: one count from the agent's mention rows, on every page (exact, so a
  mention leaves the count the moment the ticket is opened or dismissed);
- the saved searches (drawn beside the overviews): one query for the searches the
  agent may see now and a capped search (two statements) for each of the first
  ``NAV_SEARCHES``, the counts cached per agent for ``HELPLINE_NAV_COUNTS_SECONDS``
  (5; 0: always counted) like the queue counts, under the searches and the groups
  the agent may read (a withdrawn group's shared search is gone at once); changing
  one's saved searches forgets the entry at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from helpline.actions import mentions, saved_searches

# Saved searches shown (and counted) in the navigation; the rest on their page.
NAV_SEARCHES = 10


@dataclass(frozen=True)
class NavSearch:
    pk: int
    name: str
    url: str
    count: int
    capped: bool
    shared: bool


def mention_count(agent: Any) -> int:
    """Tickets under the agent's "Mentions" (one query)."""
    return mentions.mentioned_tickets(agent).count()


def search_counts(agent: Any) -> list[NavSearch]:
    """The agent's first saved searches with the number of matches it may read.

    Which searches the agent may see is read on every call (one query, so a
    shared search leaves the navigation the moment its group is withdrawn); the
    counts are cached under the searches' ids, names and queries and the groups
    the agent may read, so a cached count made under other permissions, or of a
    changed search, is never shown.  At most ``NAV_SEARCHES`` searches are
    counted, however many the agent has: 1 query cached, otherwise 1 + a capped
    search each (2 statements; 4 for words on PostgreSQL).
    """
    rows = list(saved_searches.visible_saved_searches(agent)[:NAV_SEARCHES])
    signature = (
        tuple((row.pk, row.name, row.query) for row in rows),
        saved_searches.reading_signature(agent),
    )
    key = saved_searches.NAV_KEY.format(pk=agent.pk)
    seconds = int(getattr(settings, "HELPLINE_NAV_COUNTS_SECONDS", 5))
    if seconds > 0:
        cached = cache.get(key)
        if cached is not None and cached[0] == signature:
            return list(cached[1])
    found = _count(agent, rows)
    if seconds > 0:
        cache.set(key, (signature, found), seconds)
    return found


def _count(agent: Any, rows: list[Any]) -> list[NavSearch]:
    run = reverse("saved-search-run", args=[2147483647])
    head, tail = run.rsplit("2147483647", 1)
    found = []
    for row in rows:
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
