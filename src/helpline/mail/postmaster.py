"""The PostMaster: a stored inbound message becomes a ticket, a follow-up, or a
recorded rejection — or, when anything goes wrong, a quarantined message with its
traceback that ``helpline mail replay`` processes again.  Nothing is lost.

    parse -> classify -> filters -> thread -> (follow-up | route + new ticket) -> record

Processing is idempotent: a processed or rejected message is left alone, and a
message's run is all or nothing, so a failure leaves no half-made ticket behind.

Messages are processed in batches (``process_batch``): one transaction, and one
durable commit, for several stored messages, each in a savepoint of its own, so that
a message that fails is quarantined (with its traceback) while the others commit.
The tickets of a batch are indexed for search inside the same transaction, instead of
by a job of their own after it.  A failure of the batch as a whole (a deadlock, a lost
connection, a failed commit) rolls all of it back and the messages are processed again
one per transaction; a crash leaves them ``received`` for the sweep or a replay.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from helpline.actions import events
from helpline.blobstore import read_blob
from helpline.mail.automatic import Classification, classify
from helpline.mail.filters import Outcome, apply_filters
from helpline.mail.followup import Thread, find_thread
from helpline.mail.parse import ParsedMessage, parse_message
from helpline.mail.snapshot import Snapshot, current
from helpline.mail.ticketing import Result, follow_up, new_ticket
from helpline.models import (
    Article,
    InboundMessage,
    InboundStatus,
    LinkType,
    TicketLink,
)

log = logging.getLogger(__name__)

FINAL = (InboundStatus.PROCESSED, InboundStatus.REJECTED)
# Errors of the database rather than of a message: a batch that meets one is rolled
# back as a whole and its messages are processed one per transaction.
TRANSIENT = (OperationalError, InterfaceError)


@dataclass
class _Reading:
    """A message read, classified and filtered (no writes yet), then threaded."""

    message: InboundMessage
    parsed: ParsedMessage
    classification: Classification
    outcome: Outcome
    snapshot: Snapshot
    result: Result = field(default_factory=Result)
    thread: Thread = field(default_factory=Thread)

    @property
    def done(self) -> bool:
        """Ignored or a duplicate: nothing to write but the message's outcome."""
        return bool(self.result.outcome)

    @property
    def opens_ticket(self) -> bool:
        return not self.done and self.thread.ticket is None

    def refers_to(self, message_ids: set[str]) -> bool:
        """Is it one of these messages (again), or an answer to one of them?"""
        p = self.parsed
        return not message_ids.isdisjoint((p.message_id, *p.in_reply_to, *p.references))


def _read(message: InboundMessage) -> _Reading:
    raw_bytes = read_blob(message.raw)
    parsed = parse_message(raw_bytes)
    snapshot = current()
    classification = classify(raw_bytes, own_addresses=snapshot.addresses.keys())
    outcome = apply_filters(
        parsed, trust_headers=message.trust_headers, filters=snapshot.filters
    )
    reading = _Reading(message, parsed, classification, outcome, snapshot)
    d = reading.result.decisions
    d["message_id"] = parsed.message_id
    if parsed.defects:
        d["defects"] = parsed.defects[:20]
    d["automatic"] = {
        "kind": str(classification.kind),
        "loop": classification.loop,
        "reasons": classification.reasons,
    }
    d["filters"] = outcome.fired
    if outcome.sets.get("ignore"):
        reading.result.outcome = "ignored"
    return reading


def _find_thread(reading: _Reading) -> None:
    """The duplicate check and the ticket it follows up, if any (locked)."""
    parsed = reading.parsed
    if reading.done:
        return
    if (
        parsed.message_id
        and Article.objects.filter(
            message_id=parsed.message_id, incoming=True, body_text=parsed.body_text
        ).exists()
    ):
        reading.result.outcome = "duplicate"
        return
    reading.thread = find_thread(parsed, reading.classification)
    reading.result.decisions["follow_up"] = reading.thread.method or "none"


def _write(reading: _Reading) -> Result:
    """The follow-up or the new ticket, and the auto-response to send."""
    result, thread, parsed = reading.result, reading.thread, reading.parsed
    if reading.done:
        return result
    message, raw, snapshot = reading.message, reading.message.raw, reading.snapshot
    classification, outcome = reading.classification, reading.outcome
    d = result.decisions
    if thread.ticket is not None:
        follow_up(thread, parsed, raw, classification, result, snapshot)
    old = thread.untrusted or (thread.ticket if result.ticket is None else None)
    if result.ticket is None:
        new_ticket(message, parsed, raw, classification, outcome, result, snapshot)
        if old is not None:
            assert result.ticket is not None
            TicketLink.objects.get_or_create(
                source=old if old.pk < result.ticket.pk else result.ticket,
                target=result.ticket if old.pk < result.ticket.pk else old,
                type=LinkType.NORMAL,
            )
            d["linked_to"] = old.number
            if thread.ticket is not None:
                result.auto_response = "reply_new_ticket"
    if classification.loop or outcome.sets.get("no_auto_response"):
        result.auto_response = ""
    d["auto_response"] = result.auto_response or "none"
    return result


def _run(message: InboundMessage) -> Result:
    reading = _read(message)
    _find_thread(reading)
    return _write(reading)


def _record(message: InboundMessage, result: Result) -> None:
    message.attempts += 1
    message.decisions = result.decisions
    message.processed = timezone.now()
    message.ticket = result.ticket
    message.article = result.article
    message.error = ""
    if result.outcome in ("ignored", "duplicate"):
        message.status = InboundStatus.REJECTED
        message.reason = (
            "ignored by " + ", ".join(result.decisions.get("filters", []))
            if result.outcome == "ignored"
            else "duplicate of a message already stored"
        )
    else:
        message.status = InboundStatus.PROCESSED
        message.reason = result.outcome
    message.save(
        update_fields=[
            "attempts",
            "decisions",
            "processed",
            "ticket",
            "article",
            "error",
            "status",
            "reason",
        ]
    )
    if result.ticket is not None:
        _after_commit(message, result)


def process_inbound(message_id: int) -> InboundMessage:
    """Process one stored message; never raises for a problem with the message."""
    done = process_batch([message_id])
    return done[0] if done else InboundMessage.objects.get(pk=message_id)


def process_batch(
    message_ids: Sequence[int],
    *,
    skip_locked: bool = False,
    only_received: bool = False,
) -> list[InboundMessage]:
    """Process these stored messages in one transaction, in the order given; returns
    those it processed or quarantined (not those processed already, nor, with
    ``skip_locked``, those another worker holds).  Never raises for a problem with a
    message: that message is quarantined, the others commit.

    ``only_received``: leave quarantined messages alone (the worker's batches; a
    replay processes them).
    """
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return []
    try:
        return _process_together(ids, skip_locked=skip_locked, received=only_received)
    except Exception as exc:  # quarantine anything: lose nothing
        if len(ids) == 1:
            log.exception("inbound message %s quarantined", ids[0])
            return [_quarantine(ids[0], exc)]
        log.warning(
            "a batch of %d inbound messages was rolled back (%s: %s); "
            "processing them one per transaction",
            len(ids),
            type(exc).__name__,
            exc,
        )
        done = [process_batch([pk], only_received=only_received) for pk in ids]
        return [message for each in done for message in each]


def _process_together(
    ids: list[int], *, skip_locked: bool, received: bool
) -> list[InboundMessage]:
    with transaction.atomic():
        pending = InboundMessage.objects.exclude(status__in=FINAL)
        if received:
            pending = pending.filter(status=InboundStatus.RECEIVED)
        messages = list(
            pending.select_for_update(of=("self",), skip_locked=skip_locked)
            .select_related("raw")
            .filter(pk__in=ids)
        )
        order = {pk: i for i, pk in enumerate(ids)}
        messages.sort(key=lambda m: order[m.pk])
        if len(messages) == 1:
            # Alone, no savepoint: a failure rolls back the transaction and the
            # message is quarantined in a new one (process_batch).
            result = _run(messages[0])
            _record(messages[0], result)
            tickets = [result.ticket.pk] if result.ticket is not None else []
        else:
            batch = _Batch()
            for message in messages:
                batch.add(message)
            batch.write_deferred()
            tickets = batch.tickets
        _index(tickets)
        return messages


class _Batch:
    """Several messages in one transaction, each written in a savepoint of its own.

    New tickets are written last, after the batch's follow-ups: the ticket counter's
    row stays locked from the first new ticket until the commit, and the other
    workers wait for it meanwhile.  A message that answers (or repeats) one whose
    ticket is still to be written has those written first, so it finds its ticket.
    """

    def __init__(self) -> None:
        self.deferred: list[_Reading] = []
        self.deferred_ids: set[str] = set()
        self.tickets: list[int] = []

    def add(self, message: InboundMessage) -> None:
        try:
            reading = _read(message)  # no writes: no savepoint needed
        except DatabaseError:
            raise  # the transaction may be unusable: give up the batch
        except Exception as exc:
            log.exception("inbound message %s quarantined", message.pk)
            _mark_quarantined(message, exc)
            return
        if reading.refers_to(self.deferred_ids):
            self.write_deferred()
        self._guarded(reading, self._thread_and_write)

    def write_deferred(self) -> None:
        deferred, self.deferred, self.deferred_ids = self.deferred, [], set()
        for reading in deferred:
            self._guarded(reading, self._write)

    def _thread_and_write(self, reading: _Reading) -> None:
        _find_thread(reading)
        if reading.opens_ticket:
            self.deferred.append(reading)
            if reading.parsed.message_id:
                self.deferred_ids.add(reading.parsed.message_id)
            return
        self._write(reading)

    def _write(self, reading: _Reading) -> None:
        result = _write(reading)
        _record(reading.message, result)
        if result.ticket is not None:
            self.tickets.append(result.ticket.pk)

    @staticmethod
    def _guarded(reading: _Reading, step: Callable[[_Reading], None]) -> None:
        message = reading.message
        try:
            with transaction.atomic():
                step(reading)
        except TRANSIENT:
            raise  # the database's trouble, not the message's: give up the batch
        except Exception as exc:
            log.exception("inbound message %s quarantined", message.pk)
            message.refresh_from_db()
            _mark_quarantined(message, exc)


def _index(ticket_ids: list[int]) -> None:
    """Index the batch's tickets now, in its transaction: one query for all of them
    and no job (with its own transaction) for each after the commit.  Should it fail,
    the after-commit jobs do it."""
    from helpline.search.base import get_backend
    from helpline.search.indexer import collect_documents, enqueue_reindex

    if not ticket_ids or enqueue_reindex not in events.on_ticket_changed:
        return
    ids = sorted(set(ticket_ids))
    try:
        with transaction.atomic():
            get_backend().replace(ids, collect_documents(ids))
    except TRANSIENT:
        raise
    except Exception:
        log.exception("indexing tickets %s failed; left to the indexing job", ids)
        return
    events.handled(ids, enqueue_reindex)


def process_waiting(message_id: int) -> list[InboundMessage]:
    """The worker's job for a stored message: process it and, in the same batch, up to
    ``HELPLINE_INBOUND_BATCH`` - 1 messages received after it and still waiting (their
    own jobs then find them done).  Only later ones: a message that crashes the
    process takes down its own batches, not those of the messages before it.
    """
    waiting = InboundMessage.objects.filter(status=InboundStatus.RECEIVED)
    size = max(1, settings.HELPLINE_INBOUND_BATCH)
    ids = [message_id]
    if size > 1:
        ids += (
            waiting.filter(pk__gt=message_id)
            .order_by("pk")
            .values_list("pk", flat=True)[: size - 1]
        )
    return process_batch(ids, skip_locked=len(ids) > 1, only_received=True)


def _after_commit(message: InboundMessage, result: Result) -> None:
    from helpline.mail import hooks

    kwargs = {
        "message_id": message.pk,
        "ticket_id": result.ticket.pk if result.ticket else None,
        "queue_id": result.ticket.queue_id if result.ticket else None,
        "article_id": result.article.pk if result.article else None,
        "auto_response": result.auto_response,
        "outcome": result.outcome,
    }
    for hook in hooks.after_inbound:
        transaction.on_commit(functools.partial(hook, **kwargs))


def _mark_quarantined(message: InboundMessage, exc: BaseException) -> InboundMessage:
    message.status = InboundStatus.QUARANTINED
    message.reason = f"{type(exc).__name__}: {exc}"[:2000]
    message.error = "".join(traceback.format_exception(exc))[-20000:]
    message.attempts += 1
    message.save(update_fields=["status", "reason", "error", "attempts"])
    return message


def _quarantine(message_id: int, exc: BaseException) -> InboundMessage:
    return _mark_quarantined(InboundMessage.objects.get(pk=message_id), exc)


def replay(message_id: int) -> InboundMessage:
    """Process a quarantined (or received) message again."""
    message = InboundMessage.objects.get(pk=message_id)
    if message.status in FINAL:
        return message
    return process_inbound(message_id)
