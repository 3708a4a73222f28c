"""Saved searches: a search query kept under a name, personal or shared with a group
(docs/web.md, "Saved searches").

- Personal: seen by its owner only.  Shared with a group: seen by every agent who may
  read that group's queues.  Sharing with a group needs ``rw`` on it (the group's
  working members decide what its agents see in their navigation; ``ro`` readers may
  use shared searches but not add to them).
- Only the owner edits or deletes a search (shared ones too).
- A saved search is only a query: every agent runs it as itself (``search_tickets``
  with the viewing agent), so its results and its count are the tickets the viewer
  may read, never the saver's.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from helpline.actions.access import group_permissions, readable_group_ids
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import Group, Permission, SavedSearch

audit = logging.getLogger("helpline.audit")

# Sharing with a group needs this permission on it.
SHARE_PERMISSION = Permission.RW
MAX_NAME = 100
MAX_QUERY = 2000
# "Unchanged" for an optional argument whose None means "personal".
KEEP: Any = object()
# The cached counts of the navigation (web.nav_counts), forgotten on a change.
NAV_KEY = "helpline:nav-searches:{pk}"


def _checked_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("A saved search needs a name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A name has at most {MAX_NAME} characters.")
    return name


def _checked_query(query: str) -> str:
    from helpline.search.query import parse_query

    query = query.strip()
    if not query:
        raise InvalidInput("A saved search needs a query.")
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"A query has at most {MAX_QUERY} characters.")
    parse_query(query)  # raises InvalidInput for bad syntax
    return query


def _checked_group(agent: Any, group: str | None) -> Group | None:
    """The group (by name) to share with, if ``agent`` may share with it."""
    if group is None or not group.strip():
        return None
    found = Group.objects.filter(name=group.strip(), valid=True).first()
    perms = group_permissions(agent).get(found.pk, frozenset()) if found else None
    if found is None or not perms:
        # A group the agent holds nothing on is as unknown as a missing one.
        raise InvalidInput(f"No group {group.strip()!r} you could share with.")
    if SHARE_PERMISSION not in perms:
        raise PermissionDenied(
            f"Sharing with {found.name} needs the '{SHARE_PERMISSION}' permission "
            "on that group."
        )
    return found


def share_groups(agent: Any) -> list[Group]:
    """The groups the agent may share a search with (``SHARE_PERMISSION``)."""
    ids = [
        gid
        for gid, perms in group_permissions(agent).items()
        if SHARE_PERMISSION in perms
    ]
    return list(Group.objects.filter(pk__in=ids, valid=True).order_by("name"))


def visible_saved_searches(agent: Any) -> QuerySet[SavedSearch]:
    """The agent's own searches and those shared with groups it may read *now*: an
    agent whose grant on the group (its own or a role's) is withdrawn, whose role
    or group is switched off, or who is deactivated, no longer sees the group's
    shared searches (in the navigation, the list, the API), and running one is
    "not found" (``get_saved_search``)."""
    if not agent.is_active:
        return SavedSearch.objects.none()
    return SavedSearch.objects.filter(
        Q(owner=agent) | Q(group_id__in=readable_group_ids(agent))
    ).select_related("group", "owner")


def get_saved_search(agent: Any, search_id: int) -> SavedSearch:
    found = visible_saved_searches(agent).filter(pk=search_id).first()
    if found is None:
        raise NotFound("No such saved search.")
    return found


def _own(agent: Any, search_id: int) -> SavedSearch:
    found = get_saved_search(agent, search_id)
    if found.owner_id != agent.pk:
        raise PermissionDenied("Only its owner changes or deletes a saved search.")
    return found


def _save(row: SavedSearch, *, created: bool) -> None:
    try:
        with transaction.atomic():
            row.save(force_insert=created)
    except IntegrityError as exc:
        raise InvalidInput(
            f"You have a saved search named {row.name!r} already."
        ) from exc


def create_saved_search(
    agent: Any, *, name: str, query: str, group: str | None = None
) -> SavedSearch:
    row = SavedSearch(
        owner=agent,
        name=_checked_name(name),
        query=_checked_query(query),
        group=_checked_group(agent, group),
        created=timezone.now(),
    )
    _save(row, created=True)
    _forget_counts(agent)
    audit.info(
        "agent %s saved search %s (%s)",
        agent.get_username(),
        row.pk,
        row.group.name if row.group else "personal",
    )
    return row


def update_saved_search(
    agent: Any,
    search_id: int,
    *,
    name: str | None = None,
    query: str | None = None,
    group: str | None = KEEP,
) -> SavedSearch:
    """Change the owner's saved search; None (``group``: KEEP) leaves a field as it
    is; ``group=None`` or "" makes it personal again."""
    row = _own(agent, search_id)
    if name is not None:
        row.name = _checked_name(name)
    if query is not None:
        row.query = _checked_query(query)
    if group is not KEEP:
        row.group = _checked_group(agent, group)
    _save(row, created=False)
    _forget_counts(agent)
    return row


def delete_saved_search(agent: Any, search_id: int) -> None:
    row = _own(agent, search_id)
    row.delete()
    _forget_counts(agent)
    audit.info("agent %s deleted saved search %s", agent.get_username(), search_id)


def count_matches(agent: Any, row: SavedSearch) -> tuple[int, bool]:
    """(tickets the agent may read that match, whether that is a lower bound)."""
    from helpline.search import search_tickets

    try:
        result = search_tickets(agent, row.query, limit=1)
    except InvalidInput:
        return 0, False
    return result.total, result.total_capped


def reading_signature(agent: Any) -> tuple[int, ...]:
    """The groups the agent may read, as the navigation's cached counts are keyed
    (``web.nav_counts``): a grant withdrawn or given changes it, so no count made
    under other permissions is shown (the permissions are cached on the agent for
    the request, so usually no query)."""
    return tuple(
        sorted(
            gid
            for gid, perms in group_permissions(agent).items()
            if perms & {Permission.RO, Permission.RW}
        )
    )


def _forget_counts(agent: Any) -> None:
    cache.delete(NAV_KEY.format(pk=agent.pk))
