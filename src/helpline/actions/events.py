"""What happened to tickets, announced after commit to whoever subscribed.

Actions call ``ticket_changed(ticket_id)`` when a ticket or its articles changed in a
way that other parts (the search index, caches) must learn of.  Subscribers are
registered by their own package in ``HelplineConfig.ready``; the domain layer does not
import them.  Each subscriber is called with the ticket id, after the transaction
commits, once per ticket per transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

on_ticket_changed: list[Callable[[int], object]] = []

_PENDING_ATTR = "_helpline_changed_tickets"
_FLUSH_ATTR = "_helpline_changed_flush"


def ticket_changed(ticket_id: int) -> None:
    if not on_ticket_changed:
        return
    connection = transaction.get_connection()
    pending: set[int] | None = getattr(connection, _PENDING_ATTR, None)
    # A rolled-back transaction (or savepoint) dropped our flush: the set is stale.
    flush_queued = getattr(connection, _FLUSH_ATTR, None)
    if pending is not None and not any(
        entry[1] is flush_queued for entry in connection.run_on_commit
    ):
        pending = None
    if pending is None:
        pending = set()
        setattr(connection, _PENDING_ATTR, pending)

        def flush() -> None:
            ids: set[int] = getattr(connection, _PENDING_ATTR, None) or set()
            setattr(connection, _PENDING_ATTR, None)
            for tid in sorted(ids):
                for subscriber in on_ticket_changed:
                    subscriber(tid)

        setattr(connection, _FLUSH_ATTR, flush)
        transaction.on_commit(flush)
    pending.add(ticket_id)
