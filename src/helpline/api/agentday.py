"""Mentions, out of office and saved searches (docs/api.md): the API side of
``actions.mentions``, ``actions.out_of_office`` and ``actions.saved_searches``.

What the caller sees is what the web shows it: mentions on tickets it may read, its
own out-of-office, its own searches and those shared with groups it may read, each
counted as the caller (a shared search never counts the saver's tickets).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone
from ninja import Body, Router, Schema, Status
from pydantic import Field, StringConstraints

from helpline.actions import mentions, out_of_office, saved_searches
from helpline.actions.access import access_ticket
from helpline.api.schemas import Input, Login, Name, TicketNumber, answers
from helpline.errors import NotFound
from helpline.models import Mention, OutOfOffice, SavedSearch

router = Router(tags=["me"])

Query = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Zone = Annotated[str, StringConstraints(max_length=64)]


class MentionOut(Schema):
    number: str
    title: str
    mentioned_by: str | None = Field(description="Login of who mentioned you.")
    mentioned_at: datetime


@router.get(
    "/me/mentions",
    response=answers({200: list[MentionOut]}),
    summary="Tickets you were @mentioned on (newest first)",
)
def list_mentions(request: HttpRequest) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    mine = Mention.objects.filter(ticket=OuterRef("pk"), agent=agent)
    rows = (
        mentions.mentioned_tickets(agent)
        .annotate(
            mentioned_at=Subquery(mine.values("created")[:1]),
            mentioned_by=Subquery(mine.values("by__username")[:1]),
        )
        .order_by("-mentioned_at", "-id")[:500]
    )
    return [
        {
            "number": t.number,
            "title": t.title,
            "mentioned_by": t.mentioned_by,
            "mentioned_at": t.mentioned_at,
        }
        for t in rows
    ]


@router.delete(
    "/me/mentions/{number}",
    response=answers({204: None}, 404),
    summary="Mark a mention as done (dismiss it)",
)
def dismiss_mention(request: HttpRequest, number: TicketNumber) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    mentions.dismiss_mention(agent, ticket.pk)
    return Status(204, None)


class DismissedOut(Schema):
    dismissed: int = Field(description="Mentions taken off your list.")


@router.delete(
    "/me/mentions",
    response=answers({200: DismissedOut}),
    summary="Mark all your mentions as done",
)
def dismiss_all_mentions(request: HttpRequest) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    return {"dismissed": mentions.dismiss_all_mentions(agent)}


class OutOfOfficeIn(Input):
    start: datetime = Field(description="Without an offset: read in time_zone.")
    end: datetime
    time_zone: Zone = Field(default="", description="IANA name; default the site's.")
    substitute: Login | None = Field(default=None, description="Login, or none.")


class OutOfOfficeOut(Schema):
    start: datetime
    end: datetime
    time_zone: str
    substitute: str | None
    active: bool = Field(description="The period runs now.")


def _ooo(row: OutOfOffice) -> dict[str, Any]:
    now = timezone.now()
    return {
        "start": row.start,
        "end": row.end,
        "time_zone": row.time_zone,
        "substitute": row.substitute.get_username() if row.substitute else None,
        "active": row.start <= now < row.end,
    }


@router.get(
    "/me/out-of-office",
    response=answers({200: OutOfOfficeOut}, 404),
    summary="Your out-of-office",
)
def get_out_of_office(request: HttpRequest) -> Any:
    row = out_of_office.get_out_of_office(request.auth)  # type: ignore[attr-defined]
    if row is None:
        raise NotFound("You have no out-of-office set.")
    return _ooo(row)


@router.put(
    "/me/out-of-office",
    response=answers({200: OutOfOfficeOut}, body=True),
    summary="Set your out-of-office and substitute",
)
def put_out_of_office(
    request: HttpRequest, body: Annotated[OutOfOfficeIn, Body()]
) -> Any:
    row = out_of_office.set_out_of_office(
        request.auth,  # type: ignore[attr-defined]
        start=body.start,
        end=body.end,
        time_zone=body.time_zone or None,
        substitute=body.substitute,
    )
    return _ooo(out_of_office.get_out_of_office(row.agent) or row)


@router.delete(
    "/me/out-of-office",
    response=answers({204: None}),
    summary="Remove your out-of-office",
)
def delete_out_of_office(request: HttpRequest) -> Any:
    out_of_office.clear_out_of_office(request.auth)  # type: ignore[attr-defined]
    return Status(204, None)


class SavedSearchIn(Input):
    name: Name
    query: Query
    group: Name | None = Field(
        default=None, description="Share with this group (needs 'rw' on it)."
    )


class SavedSearchPatch(Input):
    name: Name | None = None
    query: Query | None = None
    group: str | None = Field(
        default="-", description="A group to share with; '' or null: personal."
    )


class SavedSearchOut(Schema):
    id: int
    name: str
    query: str
    group: str | None
    owner: str
    count: int = Field(description="Tickets you may read that match.")
    count_capped: bool = Field(description="count is a lower bound.")


def _saved(agent: Any, row: SavedSearch) -> dict[str, Any]:
    count, capped = saved_searches.count_matches(agent, row)
    return {
        "id": row.pk,
        "name": row.name,
        "query": row.query,
        "group": row.group.name if row.group_id else None,  # type: ignore[union-attr]
        "owner": row.owner.get_username(),
        "count": count,
        "count_capped": capped,
    }


@router.get(
    "/saved-searches",
    response=answers({200: list[SavedSearchOut]}),
    summary="Your saved searches and those shared with you, with counts",
)
def list_saved_searches(request: HttpRequest) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    rows = saved_searches.visible_saved_searches(agent)[:100]
    return [_saved(agent, row) for row in rows]


@router.post(
    "/saved-searches",
    response=answers({201: SavedSearchOut}, 403, body=True),
    summary="Save a search",
)
def create_saved_search(
    request: HttpRequest, body: Annotated[SavedSearchIn, Body()]
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    row = saved_searches.create_saved_search(
        agent, name=body.name, query=body.query, group=body.group
    )
    return Status(201, _saved(agent, row))


@router.get(
    "/saved-searches/{search_id}",
    response=answers({200: SavedSearchOut}, 404),
    summary="A saved search, with its count",
)
def get_saved_search(request: HttpRequest, search_id: int) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    return _saved(agent, saved_searches.get_saved_search(agent, search_id))


@router.patch(
    "/saved-searches/{search_id}",
    response=answers({200: SavedSearchOut}, 403, 404, body=True),
    summary="Change your saved search",
)
def update_saved_search(
    request: HttpRequest, search_id: int, body: Annotated[SavedSearchPatch, Body()]
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    group: Any = saved_searches.KEEP if body.group == "-" else body.group
    row = saved_searches.update_saved_search(
        agent, search_id, name=body.name, query=body.query, group=group
    )
    return _saved(agent, row)


@router.delete(
    "/saved-searches/{search_id}",
    response=answers({204: None}, 403, 404),
    summary="Delete your saved search",
)
def delete_saved_search(request: HttpRequest, search_id: int) -> Any:
    saved_searches.delete_saved_search(request.auth, search_id)  # type: ignore[attr-defined]
    return Status(204, None)
