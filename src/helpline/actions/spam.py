"""The "Spam" and "Not spam" actions on a ticket (docs/spam.md).

"Spam" moves the ticket to its queue's junk queue (``Queue.junk_queue``, else the
queue named by ``HELPLINE_JUNK_QUEUE``) and hands the mail it received to the spam
filter to learn as spam; "Not spam" moves it back to where routing would have put
it and has the same mail learned as ham (which unlearns it as spam).  Both are
recorded in the ticket's history and need ``move_into`` on both queues, as a move
does.

The filter learns after the ticket's change has committed: a filter that is down
or not configured leaves the ticket moved and the result says the mail was not
learned (``SpamResult.learned``), so the agent can say it again later.

Where routing would have put a ticket is the mail layer's to say: it registers a
router in ``routers`` (``apps.ready``), as the answering layer subscribes to the
pipeline, so that this module does not import the mail layer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from helpline.actions.access import Agent, access_ticket, require_in_queue
from helpline.actions.history import record
from helpline.actions.locks import ensure_not_locked_by_other
from helpline.actions.tickets import do_move
from helpline.blobstore import read_blob
from helpline.errors import InvalidInput
from helpline.models import (
    Article,
    Blob,
    HistoryEntry,
    HistoryType,
    Permission,
    Queue,
    Ticket,
)
from helpline.spam import spamd

log = logging.getLogger(__name__)

# The received mail of one ticket that is learned at most (the newest): a spam
# ticket has one or two; a long ticket wrongly marked is not read whole.
LEARN_MAX = 20

# ``router(ticket) -> Queue | None``: the queue a ticket's first mail would be routed
# to now, ignoring spam verdicts (``mail.spam.route_again``).
routers: list[Callable[[Ticket], Queue | None]] = []


@dataclass
class SpamResult:
    """What "Spam" or "Not spam" did: the ticket (moved or not), and whether the
    filter learned its mail."""

    ticket: Ticket
    moved: bool
    learned: int = 0
    not_learned: str = ""  # why not, when the filter did not learn
    queue: str = ""
    blobs: list[Blob] = field(default_factory=list, repr=False)


def is_junk(queue: Queue) -> bool:
    """Does ``queue`` hold junk: marked so (for retention), or the queue named by
    ``HELPLINE_JUNK_QUEUE``?  (A queue's own junk queue should be marked so too, or
    retention never empties it: docs/spam.md.)"""
    return bool(queue.junk) or queue.name == settings.HELPLINE_JUNK_QUEUE


def junk_queue_for(queue: Queue) -> Queue | None:
    """Where "Spam" sends a ticket of ``queue``: its junk queue, else the queue named
    by ``HELPLINE_JUNK_QUEUE``; None when neither exists (or is valid)."""
    if queue.junk_queue_id is not None:
        junk = Queue.objects.filter(pk=queue.junk_queue_id, valid=True).first()
        if junk is not None:
            return junk
    name = settings.HELPLINE_JUNK_QUEUE
    return Queue.objects.filter(name=name, valid=True).first() if name else None


def _mail_blobs(ticket: Ticket) -> list[Blob]:
    ids = list(
        Article.objects.filter(ticket=ticket, incoming=True, raw__isnull=False)
        .order_by("-pk")
        .values_list("raw_id", flat=True)[:LEARN_MAX]
    )
    return list(Blob.objects.filter(pk__in=ids))


def _learn(result: SpamResult, *, spam: bool) -> SpamResult:
    """Hand the ticket's received mail to the filter (after the change committed)."""
    if not result.blobs:
        result.not_learned = "the ticket has no received mail"
        return result
    for blob in result.blobs:
        try:
            spamd.learn(read_blob(blob), spam=spam)
        except spamd.SpamFilterUnavailable as exc:
            log.warning("ticket %s not learned: %s", result.ticket.number, exc)
            result.not_learned = str(exc)
            break
        result.learned += 1
    return result


def do_mark_spam(actor: Agent | None, ticket: Ticket, junk: Queue) -> bool:
    """Record "Spam" and move ``ticket`` into ``junk`` (the caller checked and
    locked); False when it was there already."""
    record(ticket, HistoryType.SPAM, actor, queue=ticket.queue.name, junk=junk.name)
    if ticket.queue_id == junk.pk:
        return False
    do_move(actor, ticket, junk)
    return True


def mark_spam(actor: Agent, ticket_id: int) -> SpamResult:
    """Mark as "Spam": the ticket to its queue's junk queue, its mail learned as spam."""
    with transaction.atomic():
        ticket = access_ticket(
            actor, ticket_id, need=Permission.MOVE_INTO, for_update=True
        )
        junk = ticket.queue if is_junk(ticket.queue) else junk_queue_for(ticket.queue)
        if junk is None:
            raise InvalidInput(
                f"Queue {ticket.queue.name} has no junk queue: set one on the queue, "
                f"or create the queue {settings.HELPLINE_JUNK_QUEUE!r}."
            )
        require_in_queue(actor, junk, Permission.MOVE_INTO)
        ensure_not_locked_by_other(actor, ticket)
        moved = do_mark_spam(actor, ticket, junk)
        result = SpamResult(ticket, moved, queue=junk.name, blobs=_mail_blobs(ticket))
    return _learn(result, spam=True)


def home_queue(ticket: Ticket) -> Queue | None:
    """Where "Not spam" sends a ticket: where routing would put its first mail now
    (``routers``), else the queue it was in when it was last marked spam."""
    for router in routers:
        queue = router(ticket)
        if queue is not None and queue.valid and not is_junk(queue):
            return queue
    last = (
        HistoryEntry.objects.filter(ticket=ticket, type=HistoryType.SPAM)
        .order_by("-pk")
        .values_list("data", flat=True)
        .first()
    )
    name = (last or {}).get("queue")
    queue = Queue.objects.filter(name=name, valid=True).first()
    return queue if queue is not None and not is_junk(queue) else None


def do_mark_not_spam(actor: Agent | None, ticket: Ticket, home: Queue) -> bool:
    """Record "Not spam" and move ``ticket`` to ``home`` (the caller checked and
    locked); False when it was there already."""
    record(ticket, HistoryType.NOT_SPAM, actor, queue=ticket.queue.name, to=home.name)
    if ticket.queue_id == home.pk:
        return False
    do_move(actor, ticket, home)
    return True


def mark_not_spam(actor: Agent, ticket_id: int) -> SpamResult:
    """Mark as "Not spam": the ticket back where routing would have put it, its mail learned
    as ham."""
    with transaction.atomic():
        ticket = access_ticket(
            actor, ticket_id, need=Permission.MOVE_INTO, for_update=True
        )
        home = home_queue(ticket) if is_junk(ticket.queue) else ticket.queue
        if home is None:
            raise InvalidInput(
                f"No queue to move ticket {ticket.number} back to: move it instead."
            )
        require_in_queue(actor, home, Permission.MOVE_INTO)
        ensure_not_locked_by_other(actor, ticket)
        moved = do_mark_not_spam(actor, ticket, home)
        result = SpamResult(ticket, moved, queue=home.name, blobs=_mail_blobs(ticket))
    return _learn(result, spam=False)
