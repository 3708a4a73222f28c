"""One message through the chain: parse -> classify -> filters -> duplicate check and
thread -> (follow-up | route + new ticket) -> its outcome recorded on the message.

The stages are separate so that a batch (``postmaster``) can run the ones that write
nothing outside a savepoint and write its new tickets last.  Everything here runs
inside the caller's transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from helpline.actions.tickets_bulk import NewTicket
from helpline.blobstore import read_blob
from helpline.mail import spam
from helpline.mail.automatic import Classification, classify
from helpline.mail.filters import Outcome, apply_filters
from helpline.mail.followup import Thread, find_thread
from helpline.mail.parse import ParsedMessage, parse_message
from helpline.mail.snapshot import Snapshot, current
from helpline.mail.ticketing import (
    Result,
    follow_up,
    new_ticket,
    new_tickets,
    plan_ticket,
)
from helpline.models import (
    Article,
    InboundMessage,
    InboundStatus,
    LinkType,
    StateType,
    TicketLink,
)


@dataclass
class Reading:
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

    @property
    def may_open_ticket(self) -> bool:
        """A new ticket, or a follow-up of a closed one that may become one."""
        if self.done:
            return False
        ticket = self.thread.ticket
        return ticket is None or ticket.state_type in (
            StateType.CLOSED,
            StateType.REMOVED,
        )

    @property
    def can_wait(self) -> bool:
        """A new ticket linked to no other: a batch may write it with others later
        (``plan`` now, ``write_new_tickets`` then)."""
        return self.opens_ticket and self.thread.untrusted is None

    def refers_to(self, message_ids: set[str]) -> bool:
        """Does this message repeat or answer one of these (by Message-ID)?"""
        p = self.parsed
        return not message_ids.isdisjoint((p.message_id, *p.in_reply_to, *p.references))


def read(message: InboundMessage) -> Reading:
    raw_bytes = read_blob(message.raw)
    parsed = parse_message(raw_bytes)
    snapshot = current()
    classification = classify(raw_bytes, own_addresses=snapshot.addresses.keys())
    outcome = apply_filters(
        parsed, trust_headers=message.trust_headers, filters=snapshot.filters
    )
    judged = spam.apply(message, raw_bytes, outcome)
    reading = Reading(message, parsed, classification, outcome, snapshot)
    d = reading.result.decisions
    if judged:
        d["spam"] = judged
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


def stored_before(parsed: ParsedMessage) -> bool:
    """Is this message (its Message-ID and text) stored already as an incoming article?"""
    return bool(parsed.message_id) and (
        Article.objects.filter(
            message_id=parsed.message_id, incoming=True, body_text=parsed.body_text
        ).exists()
    )


def find_duplicate_or_thread(
    reading: Reading, *, duplicate: Callable[[ParsedMessage], bool] = stored_before
) -> None:
    """The duplicate check (``duplicate``: a batch asks once for all its messages) and
    the ticket it follows up, if any (locked)."""
    parsed = reading.parsed
    if reading.done:
        return
    if duplicate(parsed):
        reading.result.outcome = "duplicate"
        return
    reading.thread = find_thread(parsed, reading.classification)
    reading.result.decisions["follow_up"] = reading.thread.method or "none"


def write(reading: Reading) -> Result:
    """The follow-up or the new ticket, and the auto-response to send."""
    result, thread, parsed = reading.result, reading.thread, reading.parsed
    if reading.done:
        return result
    message, raw, snapshot = reading.message, reading.message.raw, reading.snapshot
    classification, outcome = reading.classification, reading.outcome
    d = result.decisions
    if thread.ticket is not None:
        spam = bool(outcome.sets.get("junk"))
        follow_up(thread, parsed, raw, classification, result, snapshot, spam=spam)
    old = thread.untrusted or (thread.ticket if result.ticket is None else None)
    if result.ticket is None:
        plan = plan_ticket(
            message, parsed, raw, classification, outcome, result, snapshot
        )
        new_ticket(plan, result)
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
    _answer(reading)
    return result


def _answer(reading: Reading) -> None:
    result = reading.result
    if reading.classification.loop or reading.outcome.sets.get("no_auto_response"):
        result.auto_response = ""
    result.decisions["auto_response"] = result.auto_response or "none"


def plan(reading: Reading) -> NewTicket:
    """The new ticket of a message that ``can_wait``, not yet written."""
    message = reading.message
    return plan_ticket(
        message,
        reading.parsed,
        message.raw,
        reading.classification,
        reading.outcome,
        reading.result,
        reading.snapshot,
    )


def write_new_tickets(planned: list[tuple[Reading, NewTicket]]) -> None:
    """``write`` for several messages that ``can_wait``, their tickets created at once."""
    new_tickets([p for _, p in planned], [r.result for r, _ in planned])
    for reading, _ in planned:
        _answer(reading)


def run(message: InboundMessage) -> Result:
    reading = read(message)
    find_duplicate_or_thread(reading)
    return write(reading)


# The fields ``settle`` sets.
OUTCOME = ["attempts", "decisions", "processed", "ticket", "article", "error"]
OUTCOME += ["status", "reason", "spam_score", "spam_symbols"]


def record(message: InboundMessage, result: Result) -> None:
    settle(message, result)
    message.save(update_fields=OUTCOME)


def settle(message: InboundMessage, result: Result) -> None:
    """The message's outcome set on it (not saved: ``record``, or ``record_all`` for
    several), and its after-commit hooks registered."""
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
    if result.ticket is not None:
        after_commit(message, result)


def record_all(messages: list[InboundMessage]) -> None:
    """Save the outcomes of several settled messages in one statement: an update
    from a list of values (PostgreSQL, SQLite 3.33+), one update each elsewhere.
    Django's ``bulk_update`` would build a CASE for each field and message, which
    costs more CPU than the updates it saves."""
    connection = transaction.get_connection()
    if len(messages) < 2 or connection.vendor not in ("postgresql", "sqlite"):
        for message in messages:
            message.save(update_fields=OUTCOME)
        return
    meta = InboundMessage._meta
    fields: list[Any] = [meta.pk, *(meta.get_field(name) for name in OUTCOME)]
    qn = connection.ops.quote_name

    def value(f: Any) -> str:
        column = f"v.{qn(f.column)}"
        if connection.vendor == "postgresql":  # a VALUES list's NULLs are text
            return f"CAST({column} AS {f.cast_db_type(connection)})"
        return column

    table, row = qn(meta.db_table), "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"WITH v ({', '.join(qn(f.column) for f in fields)}) AS "  # noqa: S608
        f"(VALUES {', '.join([row] * len(messages))}) "
        f"UPDATE {table} SET "
        + ", ".join(f"{qn(f.column)} = {value(f)}" for f in fields[1:])
        + f" FROM v WHERE {table}.{qn(meta.pk.column)} = {value(meta.pk)}"
    )
    params = [
        f.get_db_prep_save(getattr(m, f.attname), connection)
        for m in messages
        for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def after_commit(message: InboundMessage, result: Result) -> None:
    from helpline.mail import hooks

    kwargs: dict[str, Any] = {
        "message_id": message.pk,
        "ticket_id": result.ticket.pk if result.ticket else None,
        "queue_id": result.ticket.queue_id if result.ticket else None,
        "article_id": result.article.pk if result.article else None,
        "auto_response": result.auto_response,
        "outcome": result.outcome,
        "spam": bool(result.decisions.get("spam", {}).get("spam")),
    }
    for hook in hooks.after_inbound:
        transaction.on_commit(functools.partial(hook, **kwargs))
