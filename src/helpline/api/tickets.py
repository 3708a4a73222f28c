"""Tickets: list and search, create, read, change (PATCH), archive.

Each view finds the ticket with ``access_ticket`` (404 for a ticket the caller may not
see) or lists through ``Ticket.objects.visible_to``, then calls the domain actions,
which check the permission each change needs (403 when it is missing).
"""

from __future__ import annotations

import hashlib
import logging
from importlib import import_module
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Status

from helpline.actions import admin, locks, mentions, read_audit, tickets
from helpline.actions.access import access_ticket
from helpline.actions.articles import NewArticle
from helpline.actions.disclosure import merged_into_numbers
from helpline.api.attachments import decode_attachments
from helpline.api.concurrency import (
    IF_MATCH_HEADER,
    IfMatch,
    set_etag,
    writing,
)
from helpline.api.errors import ApiError, names_in_content
from helpline.api.pagination import Order, keyset_page, offset_cursor, offset_of
from helpline.api.schemas import (
    TicketFilters,
    TicketIn,
    TicketNumber,
    TicketOut,
    TicketPage,
    TicketPatch,
    answers,
)
from helpline.errors import InvalidInput
from helpline.models import ArticleChannel, ReadKind, SenderType, Ticket
from helpline.replica import on_replica

logger = logging.getLogger("helpline.api")
router = Router(tags=["tickets"])

# What a ticket in an answer shows; selected with it, so lists cost one query.
# (``merged_into`` is not among them: it is shown only through actions.disclosure.)
TICKET_RELATED = ("queue", "state", "owner", "responsible", "customer")
ORDERS = {
    "-changed": Order("changed", descending=True),
    "-id": Order("id", descending=True),
    "id": Order("id", descending=False),
}
ARCHIVED = {"false": False, "true": True, "any": None}
# Filters that narrow a plain listing; a full-text search takes none of them.
NARROWING = ("queue", "state", "state_type", "priority", "owner", "locked", "customer")
# Who speaks in the first article an agent records (as ``helpline ticket create``).
SENDER_BY_CHANNEL = {
    ArticleChannel.PHONE: SenderType.CUSTOMER,
    ArticleChannel.EMAIL: SenderType.CUSTOMER,
    ArticleChannel.INTERNAL: SenderType.AGENT,
}


def reload(ticket_id: int) -> Ticket:
    """The ticket as it is now, after a write the caller was allowed to make."""
    return Ticket.objects.select_related(*TICKET_RELATED).get(pk=ticket_id)


def disclose_merged_into(agent: Any, tickets: list[Ticket]) -> list[Ticket]:
    """Settle what ``TicketOut.merged_into`` shows for a page of tickets, in one
    query (a single ticket settles its own)."""
    numbers = merged_into_numbers(agent, tickets)
    for ticket in tickets:
        ticket.merged_into_shown = numbers.get(ticket.pk)  # type: ignore[attr-defined]
    return tickets


def ticket_url(number: str) -> str:
    return reverse("helpline-api:ticket", kwargs={"number": number})


def answer_with(response: HttpResponse, ticket_id: int) -> Ticket:
    ticket = reload(ticket_id)
    set_etag(response, ticket)
    return ticket


# --- list and search ----------------------------------------------------------------
def _narrowed(rows: QuerySet[Ticket], f: TicketFilters) -> QuerySet[Ticket]:
    if f.queue:
        rows = rows.filter(queue__name__in=f.queue)
    if f.state:
        rows = rows.filter(state__name__in=f.state)
    if f.state_type:
        rows = rows.filter(state_type__in=f.state_type)
    if f.priority:
        rows = rows.filter(priority__in=f.priority)
    if f.owner is not None:
        rows = rows.filter(owner__username=f.owner)
    if f.locked is not None:
        rows = rows.filter(locked=f.locked)
    if f.customer is not None:
        rows = rows.filter(customer__email=f.customer.strip().lower())
    archived = ARCHIVED[f.archived]
    if archived is not None:
        rows = rows.filter(archived=archived)
    return rows


def _search(agent: Any, q: str, f: TicketFilters) -> dict[str, Any]:
    narrowing = [name for name in NARROWING if getattr(f, name) not in (None, [])]
    if narrowing:
        raise InvalidInput(
            f"q combines with archived and order only, not with {', '.join(narrowing)}."
        )
    try:  # imported when used: the search is its own, optional package
        search_tickets = import_module("helpline.search").search_tickets
    except (ImportError, AttributeError):
        logger.warning("full-text search requested but helpline.search is missing")
        raise ApiError(
            501,
            "search_unavailable",
            "Full-text search is not available on this server; list with filters.",
        ) from None
    digest = hashlib.sha256(q.encode()).hexdigest()[:16]
    scope = f"search:{f.order}:{f.archived}:{digest}"
    offset = offset_of(f.cursor, scope)
    result = search_tickets(
        agent,
        q,
        archived=ARCHIVED[f.archived],
        order=f.order,
        limit=f.limit,
        offset=offset,
    )
    ids = list(result.ticket_ids)
    # The search filters by visibility itself; this is the second lock on that door.
    found = Ticket.objects.visible_to(agent).filter(pk__in=ids)
    by_id = {t.pk: t for t in found.select_related(*TICKET_RELATED)}
    end = offset + len(ids)
    # A capped total is a lower bound: a full page may have more behind it.
    full_page = len(ids) == f.limit
    more = bool(ids) and (end < result.total or (result.total_capped and full_page))
    return {
        "items": disclose_merged_into(agent, [by_id[i] for i in ids if i in by_id]),
        "next_cursor": offset_cursor(end, scope) if more else None,
        "total": result.total,
        "total_capped": result.total_capped,
        "hints": result.hints,
    }


@router.get(
    "/tickets",
    response=answers({200: TicketPage}, 501),
    summary="List or search the tickets you may see",
)
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    return on_replica(request, _list_tickets, agent, filters)


def _list_tickets(agent: Any, filters: TicketFilters) -> dict[str, Any]:
    if filters.q is not None and filters.q.strip():
        return _search(agent, filters.q.strip(), filters)
    rows = _narrowed(Ticket.objects.visible_to(agent), filters)
    order = ORDERS[filters.order]
    items, next_cursor = keyset_page(
        rows.select_related(*TICKET_RELATED),
        order,
        cursor=filters.cursor,
        limit=filters.limit,
        scope=f"tickets:{order.name}",
    )
    return {"items": disclose_merged_into(agent, items), "next_cursor": next_cursor}


# --- one ticket ---------------------------------------------------------------------
@router.post(
    "/tickets",
    response=answers({201: TicketOut}, 403, 409, body=True),
    summary="Create a ticket with its first article (needs 'create')",
)
def create_ticket(request: HttpRequest, body: TicketIn, response: HttpResponse) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    first = body.article
    sender = SENDER_BY_CHANNEL[ArticleChannel(first.channel)]
    from_customer = sender == SenderType.CUSTOMER
    with names_in_content():
        ticket, _ = tickets.create_ticket(
            agent,
            queue=admin.get_queue(body.queue),
            title=body.title,
            customer_email=body.customer_email,
            customer_name=body.customer_name,
            priority=body.priority,
            state=body.state,
            article=NewArticle(
                channel=first.channel,
                sender_type=sender,
                subject=first.subject or body.title,
                body_text=first.body,
                from_addr=body.customer_email if from_customer else agent.email,
                incoming=from_customer,
                attachments=decode_attachments(first.attachments),
            ),
        )
    response["Location"] = ticket_url(ticket.number)
    return Status(201, answer_with(response, ticket.pk))


@router.get(
    "/tickets/{number}",
    response=answers({200: TicketOut}, 404),
    url_name="ticket",
    summary="Read a ticket (its ETag is its version)",
)
def get_ticket(
    request: HttpRequest, number: TicketNumber, response: HttpResponse
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    read_audit.record(agent, ticket, ReadKind.TICKET)
    mentions.mark_seen(agent, ticket)  # read: it leaves the agent's mentions
    set_etag(response, ticket)
    return ticket


def _apply(agent: Any, ticket: Ticket, changes: TicketPatch) -> None:
    """Each change through its action, in an order where none undoes or blocks another.

    Most actions take the lock for the agent making the change; handing the ticket to
    another owner passes the lock on, so the owner comes after every change of ours.
    The move unlocks; the lock comes last.
    """
    given = changes.model_fields_set
    tid = ticket.pk
    if "title" in given:
        tickets.set_title(agent, tid, changes.title)
    if "priority" in given:
        tickets.set_priority(agent, tid, changes.priority)
    if "state" in given or "pending_until" in given:
        state = changes.state if "state" in given else ticket.state.name
        tickets.set_state(agent, tid, state, pending_until=changes.pending_until)
    if "responsible" in given:
        login = changes.responsible
        locks.set_responsible(agent, tid, admin.get_agent(login) if login else None)
    if "queue" in given:
        tickets.move_ticket(agent, tid, admin.get_queue(changes.queue))
    if "owner" in given:
        locks.set_owner(agent, tid, admin.get_agent(changes.owner))
    if "lock" in given:
        change_lock = locks.lock_ticket if changes.lock else locks.unlock_ticket
        change_lock(agent, tid)


@router.patch(
    "/tickets/{number}",
    response=answers({200: TicketOut}, 403, 404, 409, 412, body=True),
    summary="Change a ticket's fields, all or none",
)
def update_ticket(
    request: HttpRequest,
    number: TicketNumber,
    changes: TicketPatch,
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket, names_in_content():
        _apply(agent, ticket, changes)
    return answer_with(response, ticket.pk)


@router.post(
    "/tickets/{number}/archive",
    response=answers({200: TicketOut}, 403, 404, 412),
    summary="Archive a closed ticket",
)
def archive_ticket(
    request: HttpRequest,
    number: TicketNumber,
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket:
        tickets.archive_ticket(agent, ticket.pk)
    return answer_with(response, ticket.pk)


@router.post(
    "/tickets/{number}/unarchive",
    response=answers({200: TicketOut}, 403, 404, 412),
    summary="Take a ticket out of the archive",
)
def unarchive_ticket(
    request: HttpRequest,
    number: TicketNumber,
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket:
        tickets.unarchive_ticket(agent, ticket.pk)
    return answer_with(response, ticket.pk)
