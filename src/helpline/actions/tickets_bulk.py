"""Creating several tickets at once, each with its first article: what
``do_create_ticket`` does for one, in a few statements for all of them (one insert per
table) — for the mail batch, whose new tickets are written together.

The rules are ``do_create_ticket``'s: the priority and state are checked, the title is
tidied, the customer is found or created by address, the ticket gets a number (a
stand-in inside ``numbers.numbered_late``), its first article and attachments are
stored as ``store_article`` stores them, and both history entries (created, first
article) are written.  ``tests/actions/test_tickets_bulk.py`` checks that the rows
are the same as one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from helpline.actions.articles import NewArticle, article_entry
from helpline.actions.events import ticket_changed
from helpline.actions.history import entry, record_all
from helpline.actions.tickets import _check_priority, get_state
from helpline.blobstore import store_blob
from helpline.errors import InvalidInput
from helpline.models import (
    Article,
    ArticleChannel,
    Attachment,
    Customer,
    HistoryEntry,
    HistoryType,
    Priority,
    Queue,
    StateType,
    Ticket,
    TicketState,
)
from helpline.numbers import next_ticket_number


@dataclass
class NewTicket:
    """One ticket to create: the arguments of ``do_create_ticket``."""

    queue: Queue
    title: str
    article: NewArticle | None
    customer_email: str = ""
    customer_name: str = ""
    priority: int = Priority.NORMAL
    state: str | TicketState = "new"
    owner: Any | None = None


def do_create_tickets(
    actor: Any | None, news: Sequence[NewTicket]
) -> list[tuple[Ticket, Article | None]]:
    """Create these tickets with their first articles, in this order; no permission
    check (mail, jobs).  All or nothing: one that breaks a rule raises before anything
    is written (the caller creates them one by one to learn which)."""
    if not news:
        return []
    states: list[TicketState] = []
    for new in news:
        _check_priority(new.priority)
        state = get_state(new.state) if isinstance(new.state, str) else new.state
        if state.type in (StateType.MERGED, StateType.REMOVED):
            raise InvalidInput(f"A new ticket cannot be in state {state.name!r}.")
        if new.article is not None:
            new.article.validate()
        states.append(state)
    with transaction.atomic(savepoint=False):
        customers = _customers([(n.customer_email, n.customer_name) for n in news])
        tickets = []
        for new, state, customer in zip(news, states, customers, strict=True):
            now = timezone.now()
            tickets.append(
                Ticket(
                    number=next_ticket_number(now),
                    title=" ".join(new.title.split())[:255] or "(no subject)",
                    queue=new.queue,
                    state=state,
                    state_type=state.type,
                    priority=new.priority,
                    owner=new.owner,
                    customer=customer,
                    created=now,
                    changed=now,
                    closed_at=now if state.type == StateType.CLOSED else None,
                )
            )
        _insert(Ticket, tickets)
        articles = _articles(
            actor, [(t, n.article) for t, n in zip(tickets, news, strict=True)]
        )
        entries: list[HistoryEntry] = []
        for ticket, new, state, first in zip(
            tickets, news, states, articles, strict=True
        ):
            entries.append(
                entry(
                    ticket,
                    HistoryType.CREATED,
                    actor,
                    queue=new.queue.name,
                    state=state.name,
                    priority=new.priority,
                )
            )
            if first is not None:
                entries.append(article_entry(actor, ticket, first))
        record_all(entries)
        for ticket in tickets:
            ticket_changed(ticket.pk)
    return list(zip(tickets, articles, strict=True))


def _insert(model: type[Any], rows: list[Any]) -> None:
    """One insert for all rows, their ids set; one each where the database cannot
    return ids from a multi-row insert."""
    if not rows:
        return
    if connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(rows)
    else:
        for row in rows:
            row.save(force_insert=True)


def _customers(wanted: list[tuple[str, str]]) -> list[Customer | None]:
    """``get_or_create_customer`` for each (address, name), in two or three
    statements: the known ones, a name for those without one, the new ones."""
    emails = [email.strip().lower() for email, _ in wanted]
    names: dict[str, str] = {}  # the first name given for each address
    for email, (_, name) in zip(emails, wanted, strict=True):
        if not email:
            continue
        if email not in names:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise InvalidInput(f"{email!r} is not an email address.") from exc
            names[email] = ""
        if name and not names[email]:
            names[email] = name[:200]
    if not names:
        return [None] * len(wanted)
    known = {c.email: c for c in Customer.objects.filter(email__in=list(names))}
    for email, customer in known.items():
        if names[email] and not customer.name:
            customer.name = names[email]
            customer.save(update_fields=["name"])
    new = [Customer(email=e, name=n) for e, n in names.items() if e not in known]
    if new:
        # Created concurrently meanwhile: the conflict returns that row's id.
        Customer.objects.bulk_create(
            new, update_conflicts=True, unique_fields=["email"], update_fields=["email"]
        )
        if any(c.pk is None for c in new):  # no ids from an upsert
            new = list(Customer.objects.filter(email__in=[c.email for c in new]))
        known.update((c.email, c) for c in new)
    return [known[e] if e else None for e in emails]


def _articles(
    actor: Any | None, wanted: list[tuple[Ticket, NewArticle | None]]
) -> list[Article | None]:
    """``store_article`` for each (ticket, article): the articles in one insert, their
    attachments in another (each attachment's blob stored as there)."""
    rows: list[Article | None] = []
    for ticket, new in wanted:
        if new is None:
            rows.append(None)
            continue
        visible = new.visible_to_customer
        if visible is None:
            visible = new.channel != ArticleChannel.INTERNAL
        raw_blob = new.raw_blob
        if raw_blob is None and new.raw is not None:
            raw_blob = store_blob(new.raw)
        rows.append(
            Article(
                ticket=ticket,
                channel=new.channel,
                sender_type=new.sender_type,
                visible_to_customer=visible,
                incoming=new.incoming,
                created_by=actor,
                created=timezone.now(),
                from_addr=new.from_addr,
                to_addr=new.to_addr,
                cc_addr=new.cc_addr,
                bcc_addr=new.bcc_addr,
                reply_to=new.reply_to,
                subject=new.subject[:998],
                body_text=new.body_text,
                body_html=new.body_html,
                message_id=new.message_id[:998],
                in_reply_to=new.in_reply_to,
                references=new.references,
                raw=raw_blob,
            )
        )
    _insert(Article, [a for a in rows if a is not None])
    attachments = [
        Attachment(
            article=article,
            blob=store_blob(a.content),
            filename=a.filename[:255],
            content_type=a.content_type[:255],
            content_id=a.content_id[:255],
            inline=a.inline,
            size=len(a.content),
        )
        for article, (_, new) in zip(rows, wanted, strict=True)
        if article is not None and new is not None
        for a in new.attachments
    ]
    if attachments:
        Attachment.objects.bulk_create(attachments)
    return rows
