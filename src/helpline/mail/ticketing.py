"""The store stage: a parsed, classified and threaded message becomes a new ticket or
an article of the ticket it follows up, through the actions (``do_create_ticket``, or
``do_create_tickets`` for a batch's new tickets at once; ``do_add_article``), inside
the caller's transaction.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from helpline.actions.access import may
from helpline.actions.articles import NewArticle, NewAttachment, do_add_article
from helpline.actions.history import record
from helpline.actions.locks import do_lock_to
from helpline.actions.tickets import do_create_ticket, do_set_state, get_state
from helpline.actions.tickets_bulk import NewTicket, do_create_tickets
from helpline.addresses import format_address, normalize
from helpline.mail.automatic import AutoKind, Classification
from helpline.mail.filters import Outcome
from helpline.mail.followup import Thread, own_addresses, sent_by_us
from helpline.mail.parse import Address, ParsedMessage
from helpline.mail.routing import route
from helpline.mail.snapshot import Snapshot
from helpline.mail.spam import junk_for
from helpline.models import (
    Article,
    ArticleChannel,
    Blob,
    FollowUpOption,
    HistoryType,
    InboundMessage,
    Permission,
    SenderType,
    StateType,
    Ticket,
    TicketState,
)
from helpline.numbers import clean_subject


@dataclass
class Result:
    """What happened to one message; stored as the message's ``decisions``."""

    outcome: str = ""  # new_ticket, follow_up, rejected_follow_up, ignored, duplicate
    ticket: Ticket | None = None
    article: Article | None = None
    # The auto-response type the answering step should send, if any.
    auto_response: str = ""
    decisions: dict[str, Any] = field(default_factory=dict)


def _fmt(address: Address | None) -> str:
    if address is None:
        return ""
    return format_address(address.name, address.email)


def _fmt_list(addresses: list[Address]) -> str:
    return ", ".join(_fmt(a) for a in addresses)


def _automatic(parsed: ParsedMessage, classification: Classification) -> bool:
    """Sent by a program, or claiming to come from one of our own addresses (a loop
    or a forgery): stored as a system article, hidden from the customer, changing no
    state and answered by no auto-response."""
    return classification.kind != AutoKind.NONE or sent_by_us(parsed)


def _article(
    parsed: ParsedMessage, raw: Blob, classification: Classification
) -> NewArticle:
    automatic = _automatic(parsed, classification)
    return NewArticle(
        channel=ArticleChannel.EMAIL,
        sender_type=SenderType.SYSTEM if automatic else SenderType.CUSTOMER,
        visible_to_customer=not automatic,
        incoming=True,
        from_addr=_fmt(parsed.from_),
        to_addr=_fmt_list(parsed.to),
        cc_addr=_fmt_list(parsed.cc),
        reply_to=_fmt_list(parsed.reply_to),
        subject=parsed.subject,
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        message_id=parsed.message_id,
        in_reply_to=" ".join(parsed.in_reply_to),
        references=" ".join(parsed.references),
        raw_blob=raw,
        attachments=[
            NewAttachment(
                filename=a.filename,
                content_type=a.content_type,
                content=a.content,
                content_id=a.content_id,
                inline=a.disposition == "inline",
            )
            for a in parsed.attachments
        ],
    )


def _customer(parsed: ParsedMessage, outcome: Outcome) -> tuple[str, str]:
    """The customer: a filter's choice, else Reply-To, else From, as a canonical
    address (``helpline.addresses``).

    An address Helpline cannot use as an identity (malformed, or one of our own system
    addresses) leaves the ticket without a customer rather than failing the message;
    the raw mail still shows the sender.
    """
    if outcome.sets.get("customer"):
        email, name = str(outcome.sets["customer"]), ""
    else:
        who = parsed.reply_to[0] if parsed.reply_to else parsed.from_
        email, name = (who.email, who.name) if who is not None else ("", "")
    email = normalize(email)
    if not email or email in own_addresses():
        return "", ""
    try:
        validate_email(email)
    except ValidationError:
        return "", ""
    return email, name


def plan_ticket(
    message: InboundMessage,
    parsed: ParsedMessage,
    raw: Blob,
    classification: Classification,
    outcome: Outcome,
    result: Result,
    snapshot: Snapshot,
) -> NewTicket:
    """The new ticket a message opens (its queue, customer, state, title and first
    article), not yet written: ``new_ticket`` writes one, a batch several at once."""
    queue, how = route(
        message,
        parsed.recipients_for_routing,
        snapshot,
        filter_queue=outcome.sets.get("queue"),
    )
    if outcome.sets.get("junk"):  # judged spam (mail.spam)
        junk = junk_for(queue, snapshot)
        if junk is not None and junk.pk != queue.pk:
            how = f"{how}; spam, so its junk queue {junk.name}"
            queue = copy.copy(junk)
    result.decisions["route"] = how
    email, name = _customer(parsed, outcome)
    return NewTicket(
        queue=queue,
        title=outcome.sets.get("title")
        or clean_subject(parsed.subject, legacy=snapshot.legacy_hooks)
        or "(no subject)",
        article=_article(parsed, raw, classification),
        customer_email=email,
        customer_name=name,
        priority=int(outcome.sets.get("priority") or 3),
        state=_state(snapshot, outcome.sets.get("state") or "new"),
    )


def new_ticket(plan: NewTicket, result: Result) -> None:
    ticket, article = do_create_ticket(
        None,
        queue=plan.queue,
        title=plan.title,
        article=plan.article,
        customer_email=plan.customer_email,
        customer_name=plan.customer_name,
        priority=plan.priority,
        state=plan.state,
    )
    opened(result, ticket, article)


def new_tickets(plans: list[NewTicket], results: list[Result]) -> None:
    """Several new tickets at once (a batch's): the same rows as ``new_ticket`` each."""
    created = do_create_tickets(None, plans)
    for result, (ticket, article) in zip(results, created, strict=True):
        opened(result, ticket, article)


def opened(result: Result, ticket: Ticket, article: Article | None) -> None:
    result.outcome, result.ticket, result.article = "new_ticket", ticket, article
    system = article is not None and article.sender_type == SenderType.SYSTEM
    result.auto_response = "" if system else "reply"


def _state(snapshot: Snapshot, name: str) -> TicketState:
    # get_state raises the error a missing state deserves (the message is quarantined).
    # The snapshot's row is shared between messages: the ticket gets its own copy.
    state = snapshot.state(name)
    return copy.copy(state) if state is not None else get_state(name)


def follow_up(
    thread: Thread,
    parsed: ParsedMessage,
    raw: Blob,
    classification: Classification,
    result: Result,
    snapshot: Snapshot,
    *,
    spam: bool = False,
) -> None:
    """Add the message to the ticket it follows up.  Mail judged spam (``spam``) is
    kept like an out-of-office: it reopens nothing (docs/spam.md)."""
    assert thread.ticket is not None
    ticket = thread.ticket
    if not thread.locked:
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("queue", "state", "owner")
            .get(pk=ticket.pk)
        )
    automatic = _automatic(parsed, classification)
    closed = ticket.state_type in (StateType.CLOSED, StateType.REMOVED)
    option = ticket.queue.follow_up
    if closed and not automatic and option == FollowUpOption.NEW_TICKET:
        return  # the caller opens a new ticket linked to this one
    history = (
        HistoryType.BOUNCE
        if classification.kind == AutoKind.BOUNCE
        else (HistoryType.FOLLOW_UP)
    )
    article = do_add_article(
        None, ticket, _article(parsed, raw, classification), history_type=history
    )
    result.ticket, result.article = ticket, article
    if classification.kind == AutoKind.BOUNCE:
        result.outcome = "bounce"
        record(
            ticket,
            HistoryType.DELIVERY_FAILED,
            None,
            article=article,
            recipients=[r.address for r in classification.recipients],
            reasons=[r.reason for r in classification.recipients],
        )
        return
    if automatic:
        # An out-of-office or list copy is kept, but reopens nothing.
        result.outcome = "follow_up (automatic, state kept)"
        return
    if spam:
        result.outcome = "follow_up (spam, state kept)"
        return
    if closed and option == FollowUpOption.REJECT:
        result.outcome = "rejected_follow_up"
        result.auto_response = "reject"
        return
    result.outcome = "follow_up"
    result.auto_response = "follow_up"
    if ticket.state_type != StateType.NEW:
        if ticket.state_type != StateType.OPEN:
            do_set_state(None, ticket, _state(snapshot, "open"))
        if (
            closed
            and ticket.queue.follow_up_lock
            and ticket.owner is not None
            and may(ticket.owner, ticket, Permission.RO)
            and not ticket.locked
        ):
            do_lock_to(None, ticket, ticket.owner)
