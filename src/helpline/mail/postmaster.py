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

import logging
import traceback
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction

from helpline.actions.tickets_bulk import NewTicket
from helpline.blobstore import BlobStoreUnavailable
from helpline.mail import chain, spam
from helpline.mail.chain import Reading
from helpline.mail.parse import ParsedMessage
from helpline.mail.snapshot import pinned
from helpline.models import Article, InboundMessage, InboundStatus, Ticket
from helpline.numbers import numbered_late

log = logging.getLogger(__name__)

FINAL = (InboundStatus.PROCESSED, InboundStatus.REJECTED)
# Errors of the database rather than of a message: a batch that meets one is rolled
# back as a whole and its messages are processed one per transaction.
TRANSIENT = (OperationalError, InterfaceError)
# Not the message's fault either: the blob store is down.  The batch is rolled back,
# its messages stay ``received`` (never quarantined) and the job is retried later.
NOT_THE_MESSAGE = (*TRANSIENT, BlobStoreUnavailable)


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

    Raises ``BlobStoreUnavailable`` when the blob store is down: then nothing of the
    batch is written and its messages stay ``received`` for a later try.
    """
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return []
    try:
        # One configuration for the batch, its messages and its after-commit hooks;
        # the spam filter asked before the transaction begins (docs/spam.md).
        with pinned(), spam.judged_first(ids):
            return _process_together(
                ids, skip_locked=skip_locked, received=only_received
            )
    except BlobStoreUnavailable:
        log.warning(
            "inbound messages %s left for later: the blob store is unavailable", ids
        )
        raise
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
            result = chain.run(messages[0])
            chain.record(messages[0], result)
            _index([result.ticket] if result.ticket is not None else [])
            return messages
        batch = _Batch(messages)
        with numbered_late() as numbers:
            for message in messages:
                batch.add(message)
            batch.write_waiting()
            chain.record_all(batch.settled)
            _index(batch.tickets)  # the index holds no ticket numbers
        for ticket in batch.tickets:
            ticket.number = numbers.assigned.get(ticket.number, ticket.number)
        return messages


# Raw bytes of the new-ticket messages a batch keeps waiting (parsed, in memory)
# before it writes them.
WAITING_BYTES = 16 * 1024 * 1024


class _Batch:
    """Several messages in one transaction, each written in a savepoint of its own —
    but for new tickets, which wait and are written together (``do_create_tickets``:
    one insert per table for all of them) in one savepoint; should that fail, they
    are written one by one, each in its own, so that only the broken one is
    quarantined.

    New tickets get their numbers at the end (``numbered_late``), in the order their
    messages came: the ticket counter's row stays locked from drawing them to the
    commit, and the other workers wait for it meanwhile.  A message that answers or
    repeats a waiting one, or that may open a ticket of its own otherwise, has the
    waiting ones written first.  The duplicate check asks the database once for the
    whole batch.
    """

    def __init__(self, messages: list[InboundMessage]) -> None:
        self.tickets: list[Ticket] = []
        # Messages whose outcome is set, saved at the end of the batch in one go.
        self.settled: list[InboundMessage] = []
        self.waiting: list[tuple[Reading, NewTicket]] = []
        self.waiting_ids: set[str] = set()
        self.waiting_bytes = 0
        # By the Message-IDs read at storing time; a message whose parsed id differs
        # (an unusual header) is checked on its own.
        self.sniffed = {m.message_id for m in messages if m.message_id}
        self.stored: set[tuple[str, str]] = set(
            Article.objects.filter(message_id__in=self.sniffed, incoming=True)
            .values_list("message_id", "body_text")
            .iterator()
            if self.sniffed
            else ()
        )

    def duplicate(self, parsed: ParsedMessage) -> bool:
        if parsed.message_id not in self.sniffed:
            return chain.stored_before(parsed)
        return (parsed.message_id, parsed.body_text) in self.stored

    def add(self, message: InboundMessage) -> None:
        # Reading, threading and planning a new ticket write nothing (threading locks
        # the ticket it finds): no savepoint for them, only for the writing.  A
        # database error in them may have left the transaction unusable: it gives up
        # the batch.
        try:
            reading = chain.read(message)
            if reading.refers_to(self.waiting_ids):
                self.write_waiting()
            chain.find_duplicate_or_thread(reading, duplicate=self.duplicate)
            plan = chain.plan(reading) if reading.can_wait else None
        except (DatabaseError, BlobStoreUnavailable):
            raise
        except Exception as exc:
            log.exception("inbound message %s quarantined", message.pk)
            _mark_quarantined(message, exc)
            return
        if plan is None:
            if reading.may_open_ticket:
                self.write_waiting()  # the tickets' numbers in arrival order
            self._guarded(reading, self._write)
            return
        self.waiting.append((reading, plan))
        if reading.parsed.message_id:
            self.waiting_ids.add(reading.parsed.message_id)
        self.waiting_bytes += message.raw.size
        if self.waiting_bytes > WAITING_BYTES:
            self.write_waiting()

    def write_waiting(self) -> None:
        waiting, self.waiting, self.waiting_ids = self.waiting, [], set()
        self.waiting_bytes = 0
        if not waiting:
            return
        try:
            with transaction.atomic():
                chain.write_new_tickets(waiting)
                for reading, _ in waiting:
                    chain.settle(reading.message, reading.result)
        except NOT_THE_MESSAGE:
            raise
        except Exception:
            # Which one broke it?  One by one, each in a savepoint of its own.
            log.info(
                "writing %d new tickets at once failed", len(waiting), exc_info=True
            )
            for reading, _ in waiting:
                result = reading.result
                result.outcome, result.auto_response = "", ""
                result.ticket = result.article = None
                reading.message.refresh_from_db()
                self._guarded(reading, self._write)
            return
        for reading, _ in waiting:
            self._written(reading)

    def _write(self, reading: Reading) -> None:
        chain.write(reading)
        chain.settle(reading.message, reading.result)
        self._written(reading)

    def _written(self, reading: Reading) -> None:
        self.settled.append(reading.message)
        result = reading.result
        if result.ticket is not None:
            self.tickets.append(result.ticket)
        article = result.article
        if article is not None and article.incoming:
            self.stored.add((article.message_id, article.body_text))

    @staticmethod
    def _guarded(reading: Reading, step: Callable[[Reading], None]) -> None:
        message = reading.message
        try:
            with transaction.atomic():
                step(reading)
        except NOT_THE_MESSAGE:
            raise  # the database's or the store's trouble: give up the batch
        except Exception as exc:
            log.exception("inbound message %s quarantined", message.pk)
            message.refresh_from_db()  # forget what the rolled-back step set
            _mark_quarantined(message, exc)


def _index(tickets: list[Ticket]) -> None:
    """Index the batch's tickets now, in its transaction: one query for all of them
    and no job (with its own transaction) for each after the commit.  Should it fail,
    the after-commit jobs do it."""
    from helpline.search.indexer import index_now

    ids = [t.pk for t in tickets]
    try:
        index_now(ids)
    except TRANSIENT:
        raise
    except Exception:
        log.exception("indexing tickets %s failed; left to the indexing job", ids)


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
