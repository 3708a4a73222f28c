"""Merge, split and link tickets (the API side of ``actions.merge``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from helpline.actions import admin, merge
from helpline.actions.access import access_ticket
from helpline.actions.disclosure import ShownLink, present_links
from helpline.api.concurrency import (
    IF_MATCH_HEADER,
    IfMatch,
    check_if_match,
    writing,
)
from helpline.api.errors import names_in_content
from helpline.api.schemas import (
    LinkIn,
    LinkOut,
    MergeIn,
    SplitIn,
    TicketNumber,
    TicketOut,
    answers,
)
from helpline.api.tickets import answer_with, ticket_url
from helpline.errors import NotFound

router = Router(tags=["tickets"])


@router.post(
    "/tickets/{number}/merge",
    response=answers({200: TicketOut}, 403, 404, 409, 412, body=True),
    summary="Merge this ticket into another; answers with the remaining ticket",
)
def merge_ticket(
    request: HttpRequest,
    number: TicketNumber,
    body: MergeIn,
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with transaction.atomic():
        source = access_ticket(agent, number=number)
        target = access_ticket(agent, number=body.into)
        # Row locks in id order, the order merge_tickets takes them: two merges of
        # the same pair wait for each other instead of deadlocking.
        locked = {
            t.pk: access_ticket(agent, t.pk, for_update=True)
            for t in sorted((source, target), key=lambda t: t.pk)
        }
        check_if_match(locked[source.pk], if_match)
        merge.merge_tickets(agent, source.pk, target.pk)
    return answer_with(response, target.pk)


@router.post(
    "/tickets/{number}/split",
    response=answers({201: TicketOut}, 403, 404, 409, 412, body=True),
    summary="Make a new ticket from one article, linked as a child",
)
def split_ticket(
    request: HttpRequest,
    number: TicketNumber,
    body: SplitIn,
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket, names_in_content():
        if not ticket.articles.filter(pk=body.article_id).exists():
            raise NotFound(f"Article {body.article_id} is not in ticket {number}.")
        queue = (
            admin.get_queue(body.queue) if "queue" in body.model_fields_set else None
        )
        new = merge.split_article(agent, body.article_id, queue=queue, title=body.title)
    response["Location"] = ticket_url(new.number)
    return Status(201, answer_with(response, new.pk))


def _link_out(link: ShownLink) -> dict[str, Any]:
    """The link as seen from its ticket: which ticket, and what it is to this one."""
    return {
        "ticket": link.ticket.number,
        "title": link.ticket.title,
        "type": link.type,
        "relation": link.relation,
    }


@router.get(
    "/tickets/{number}/links",
    response=answers({200: list[LinkOut]}, 404),
    summary="The tickets linked to this one (those you may see)",
)
def list_links(request: HttpRequest, number: TicketNumber) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    return [_link_out(link) for link in present_links(agent, ticket)]


@router.post(
    "/tickets/{number}/links",
    response=answers({201: LinkOut}, 403, 404, 409, 412, body=True),
    summary="Link another ticket to this one",
)
def add_link(
    request: HttpRequest,
    number: TicketNumber,
    body: LinkIn,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket:
        other = access_ticket(agent, number=body.ticket)
        merge.link_tickets(agent, ticket.pk, other.pk, type_=body.type)
    shown = [
        link
        for link in present_links(agent, ticket)
        if link.ticket.pk == other.pk and link.type == body.type
    ]
    return Status(201, _link_out(shown[0]))


@router.delete(
    "/tickets/{number}/links/{other}",
    response=answers({204: None}, 403, 404, 409, 412),
    summary="Remove the links between this ticket and another",
)
def remove_link(
    request: HttpRequest,
    number: TicketNumber,
    other: TicketNumber,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket:
        other_ticket = access_ticket(agent, number=other)
        if not merge.unlink_tickets(agent, ticket.pk, other_ticket.pk):
            raise NotFound(f"Tickets {number} and {other} are not linked.")
    return Status(204, None)
