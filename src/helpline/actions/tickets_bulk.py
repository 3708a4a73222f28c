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

from django.db import connection, transaction

from helpline.actions.articles import (
    NewArticle,
    article_row,
    attachment_rows,
)
from helpline.actions.customers import customer_address
from helpline.actions.events import ticket_changed
from helpline.actions.history import record_all
from helpline.actions.tickets import (
    _check_priority,
    creation_entries,
    new_ticket_row,
    new_ticket_state,
)
from helpline.models import (
    Article,
    Attachment,
    Customer,
    Priority,
    Queue,
    Ticket,
    TicketState,
)


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
        if new.article is not None:
            new.article.validate()
        states.append(new_ticket_state(new.state))
    with transaction.atomic(savepoint=False):
        customers = _customers([(n.customer_email, n.customer_name) for n in news])
        tickets = [
            new_ticket_row(
                title=new.title,
                queue=new.queue,
                state=state,
                priority=new.priority,
                owner=new.owner,
                customer=customer,
            )
            for new, state, customer in zip(news, states, customers, strict=True)
        ]
        _insert(Ticket, tickets)
        articles = _articles(
            actor, [(t, n.article) for t, n in zip(tickets, news, strict=True)]
        )
        record_all(
            [
                e
                for ticket, first in zip(tickets, articles, strict=True)
                for e in creation_entries(actor, ticket, first)
            ]
        )
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
    emails = [customer_address(email) for email, _ in wanted]
    names: dict[str, str] = {}  # the first name given for each address
    for email, (_, name) in zip(emails, wanted, strict=True):
        if not email:
            continue
        names.setdefault(email, "")
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
    rows = [
        article_row(actor, ticket, new) if new is not None else None
        for ticket, new in wanted
    ]
    _insert(Article, [a for a in rows if a is not None])
    attachments = [
        attachment
        for article, (_, new) in zip(rows, wanted, strict=True)
        if article is not None and new is not None
        for attachment in attachment_rows(article, new)
    ]
    if attachments:
        Attachment.objects.bulk_create(attachments)
    return rows
