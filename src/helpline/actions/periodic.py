"""What the clock does to tickets: the periodic jobs' domain actions.

Each function is idempotent and safe to run from several workers at once: it selects
the due tickets with ``skip_locked`` row locks and re-checks each inside its own
transaction, so a ticket is handled once even when two workers run the same job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from helpline.actions.events import Event, announce
from helpline.actions.locks import do_unlock
from helpline.actions.tickets import do_archive, do_set_state
from helpline.models import AutoResponseLog, StateType, Ticket

log = logging.getLogger(__name__)
BATCH = 500


def _pages(qs: QuerySet[Ticket], ids: list[int] | None) -> Iterator[list[int]]:
    """Candidate ids in id order, a page at a time: ``ids`` if given, else ``qs``'s."""
    if ids is not None:
        ordered = sorted(ids)
        for start in range(0, len(ordered), BATCH):
            yield ordered[start : start + BATCH]
        return
    last = 0
    while page := list(
        qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH]
    ):
        last = page[-1]
        yield page


def _each_due(
    qs: QuerySet[Ticket],
    handle: Callable[[Ticket], bool],
    limit: int,
    *,
    ids: list[int] | None = None,
) -> int:
    """Lock each due ticket on its own (skipping ones another worker holds), re-check,
    handle, until ``limit`` were handled.  Returns how many were.

    Candidates are walked in id order, page by page, so tickets that turn out not to
    need handling never hide the ones behind them.  ``ids``: candidates already known.
    """
    done = 0
    for page in _pages(qs, ids):
        for pk in page:
            with transaction.atomic():
                ticket = (
                    qs.select_for_update(skip_locked=True, of=("self",))
                    .select_related(
                        "state__next_state", "queue", "owner", "responsible"
                    )
                    .filter(pk=pk)
                    .first()
                )
                if ticket is not None and handle(ticket):
                    done += 1
            if done >= limit:
                return done
    return done


def close_expired_pending(limit: int = BATCH) -> int:
    """Pending-auto tickets whose time has passed go to their next state."""
    now = timezone.now()
    due = Ticket.objects.filter(
        state_type=StateType.PENDING_AUTO, pending_until__lte=now
    )

    def handle(ticket: Ticket) -> bool:
        target = ticket.state.next_state
        if target is None:
            log.warning("state %s has no next state", ticket.state.name)
            return False
        do_set_state(None, ticket, target)
        return True

    return _each_due(due, handle, limit)


def send_pending_reminders(limit: int = BATCH) -> int:
    """Pending-reminder tickets whose time has passed: tell owner and responsible."""
    now = timezone.now()
    due = Ticket.objects.filter(
        state_type=StateType.PENDING_REMINDER, pending_until__lte=now
    ).filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=F("pending_until")))

    def handle(ticket: Ticket) -> bool:
        ticket.reminded_at = timezone.now()
        ticket.save(update_fields=["reminded_at"])
        announce(Event.PENDING_REMINDER, ticket.pk)
        return True

    return _each_due(due, handle, limit)


def unlock_timed_out(limit: int = BATCH) -> int:
    """Unlock tickets locked longer than their queue's unlock timeout; tell the owner.

    The timeout counts from the lock or from the owner's latest article, whichever is
    later, so an agent who is working on a ticket keeps it.  The lock time is compared
    here for every locked open ticket (a few numbers per row; there are as many rows as
    tickets agents hold), so tickets still within their time never hide due ones
    behind the batch limit.
    """
    now = timezone.now()
    candidates = Ticket.objects.filter(
        locked=True, queue__unlock_timeout__gt=0, state_type__in=StateType.open_types()
    )
    past_lock_time = [
        pk
        for pk, locked_at, changed, minutes in candidates.values_list(
            "pk", "locked_at", "changed", "queue__unlock_timeout"
        ).iterator(chunk_size=2000)
        if (locked_at or changed) + timedelta(minutes=minutes) <= now
    ]

    def handle(ticket: Ticket) -> bool:
        last = ticket.locked_at or ticket.changed
        latest = (
            ticket.articles.filter(created_by=ticket.owner)
            .order_by("-created")
            .values_list("created", flat=True)
            .first()
        )
        if latest and latest > last:
            last = latest
        if last + timedelta(minutes=ticket.queue.unlock_timeout) > now:
            return False
        do_unlock(None, ticket, reason="unlock timeout")
        announce(Event.LOCK_TIMEOUT, ticket.pk)
        return True

    return _each_due(candidates, handle, limit, ids=past_lock_time)


def archive_closed(older_than_days: int, limit: int = BATCH) -> int:
    """Archive tickets closed longer ago than ``older_than_days``."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    due = Ticket.objects.filter(
        archived=False,
        state_type__in=[StateType.CLOSED, StateType.MERGED, StateType.REMOVED],
    ).filter(Q(closed_at__lt=cutoff) | Q(closed_at__isnull=True, changed__lt=cutoff))

    def handle(ticket: Ticket) -> bool:
        do_archive(None, ticket)
        return True

    return _each_due(due, handle, limit)


def forget_old_loop_counters(days: int = 2) -> int:
    cutoff = timezone.localdate() - timedelta(days=days)
    deleted, _ = AutoResponseLog.objects.filter(day__lt=cutoff).delete()
    return deleted
