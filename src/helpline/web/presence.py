"""Who else has a ticket open: the heartbeat behind the collision warning.

The zoom and the reply screen call ``mark`` when they are rendered and then every few
seconds (htmx polling).  ``others`` lists the agents whose heartbeat is recent.  An
agent's rows that went quiet long ago are removed on their next heartbeat, so the
table holds roughly one row per agent and recently opened ticket.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from helpline.models import Presence, Ticket
from helpline.models.presence import PresenceAction

# Polling runs every 10 s; three missed heartbeats mean the agent has left.
ACTIVE_FOR = timedelta(seconds=30)
FORGET_AFTER = timedelta(hours=1)


def _without_waiting_for_the_disk() -> None:
    """A heartbeat is worth nothing a few seconds later: on PostgreSQL its commit
    does not wait for the WAL to reach the disk (``synchronous_commit`` off for this
    transaction only; a crash may lose the last heartbeats, never other data).  A
    zoom or a poll then answers without the ~5-10 ms of an fsync."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def mark(agent: Any, ticket: Ticket, action: str = PresenceAction.VIEWING) -> None:
    """Record that ``agent`` is on ``ticket`` now, doing ``action``."""
    if action not in PresenceAction.values:
        action = PresenceAction.VIEWING
    if connection.in_atomic_block:  # part of a larger write: its commit decides
        _mark(agent, ticket, action)
        return
    with transaction.atomic():
        _without_waiting_for_the_disk()
        _mark(agent, ticket, action)


def _mark(agent: Any, ticket: Ticket, action: str) -> None:
    now = timezone.now()
    # One UPDATE on every heartbeat but the first (no select, no savepoint).
    mine = Presence.objects.filter(agent=agent, ticket=ticket)
    if not mine.update(action=action, last_seen=now):
        try:
            with transaction.atomic():
                Presence.objects.create(
                    agent=agent, ticket=ticket, action=action, last_seen=now
                )
        except IntegrityError:  # a second tab of the same agent got there first
            mine.update(action=action, last_seen=now)
        # An agent's old rows go when they open a ticket anew, not on every poll.
        Presence.objects.filter(agent=agent, last_seen__lt=now - FORGET_AFTER).delete()


def leave(agent: Any, ticket: Ticket) -> None:
    """The agent finished (sent the reply): stop announcing them."""
    Presence.objects.filter(agent=agent, ticket=ticket).delete()


def others(agent: Any, ticket: Ticket) -> list[Presence]:
    """Recent presences of other agents on ``ticket``, writers first."""
    cutoff = timezone.now() - ACTIVE_FOR
    rows = (
        Presence.objects.filter(ticket=ticket, last_seen__gte=cutoff)
        .exclude(agent=agent)
        .select_related("agent")
        .order_by("agent__username")
    )
    return sorted(rows, key=lambda p: p.action != PresenceAction.REPLYING)
