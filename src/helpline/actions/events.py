"""What happened to tickets, announced after commit to whoever subscribed.

Actions call ``ticket_changed(ticket_id)`` when a ticket or its articles changed in a
way that other parts (the search index, caches) must learn of.  Subscribers are
registered by their own package in ``HelplineConfig.ready``; the domain layer does not
import them.  Each subscriber is called with the ticket id, after the transaction
commits, once per ticket per transaction, unless it has declared with ``handled`` that
it did its work for that ticket inside the transaction.

Notifications to agents travel the same way: actions ``announce`` an ``Event`` (or
schedule it with ``announce_on_commit``); the answering layer (``responses.notify``)
subscribes to ``on_announce`` and decides who hears of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, Protocol

from django.db import transaction

on_ticket_changed: list[Callable[[int], object]] = []
# Subscribers that take a transaction's changed tickets at once (after the
# per-ticket ones): the service levels recompute them in a few queries, however many.
on_tickets_changed: list[Callable[[list[int]], object]] = []


class Event(StrEnum):
    """What agents may be notified of (BEHAVIOUR.md s. 10); each agent may switch
    each kind off in their preferences."""

    NEW_TICKET = "new_ticket"
    FOLLOW_UP = "follow_up"
    MOVED = "moved"
    LOCK_TIMEOUT = "lock_timeout"
    OWNER = "owner"
    RESPONSIBLE = "responsible"
    PENDING_REMINDER = "pending_reminder"
    DELIVERY_FAILED = "delivery_failed"
    # Service levels (docs/service-levels.md): a clock nears its target, reached it.
    ESCALATION_WARNING = "escalation_warning"
    ESCALATION = "escalation"


class Announcement(Protocol):
    def __call__(
        self,
        event: Event,
        ticket_id: int,
        *,
        actor: Any | None = None,
        article_id: int | None = None,
    ) -> object: ...


on_announce: list[Announcement] = []


def announce(
    event: Event,
    ticket_id: int,
    *,
    actor: Any | None = None,
    article_id: int | None = None,
) -> None:
    """Tell the subscribers of ``event`` now, inside the current transaction (the
    periodic jobs, whose batch is one transaction per ticket)."""
    for subscriber in on_announce:
        subscriber(event, ticket_id, actor=actor, article_id=article_id)


def announce_on_commit(
    event: Event,
    ticket_id: int,
    *,
    actor: Any | None = None,
    article_id: int | None = None,
) -> None:
    """Tell the subscribers of ``event`` once the current transaction commits (never
    if it rolls back)."""
    transaction.on_commit(
        lambda: announce(event, ticket_id, actor=actor, article_id=article_id)
    )


_PENDING_ATTR = "_helpline_changed_tickets"
_FLUSH_ATTR = "_helpline_changed_flush"
_HANDLED_ATTR = "_helpline_changed_handled"


def ticket_changed(ticket_id: int) -> None:
    if not on_ticket_changed and not on_tickets_changed:
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
        setattr(connection, _HANDLED_ATTR, {})

        def flush() -> None:
            ids: set[int] = getattr(connection, _PENDING_ATTR, None) or set()
            done = getattr(connection, _HANDLED_ATTR, None) or {}
            setattr(connection, _PENDING_ATTR, None)
            setattr(connection, _HANDLED_ATTR, None)
            for tid in sorted(ids):
                for subscriber in on_ticket_changed:
                    if tid not in done.get(subscriber, ()):
                        subscriber(tid)
            for batch in on_tickets_changed:
                if ids:
                    batch(sorted(ids))

        setattr(connection, _FLUSH_ATTR, flush)
        transaction.on_commit(flush)
    pending.add(ticket_id)


def handled(ticket_ids: Iterable[int], subscriber: Callable[[int], object]) -> None:
    """``subscriber`` has done its work for these tickets, changed in the current
    transaction, inside that transaction: after the commit it is not called for them
    (the others are).  The mail pipeline indexes a batch's tickets this way."""
    connection = transaction.get_connection()
    done: dict[Callable[[int], object], set[int]] | None = getattr(
        connection, _HANDLED_ATTR, None
    )
    if done is not None and getattr(connection, _PENDING_ATTR, None) is not None:
        done.setdefault(subscriber, set()).update(ticket_ids)
