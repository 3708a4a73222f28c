"""The history of a ticket: every change, who made it and when, oldest first."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from helpline.actions.access import access_ticket
from helpline.api.pagination import Order, keyset_page
from helpline.api.schemas import HistoryPage, PageParams, TicketNumber, answers
from helpline.models import HistoryEntry

router = Router(tags=["tickets"])


@router.get(
    "/tickets/{number}/history",
    response=answers({200: HistoryPage}, 400, 404),
    summary="The history of a ticket, oldest first",
)
def ticket_history(
    request: HttpRequest, number: TicketNumber, page: Query[PageParams]
) -> Any:
    ticket = access_ticket(request.auth, number=number)  # type: ignore[attr-defined]
    items, next_cursor = keyset_page(
        HistoryEntry.objects.filter(ticket=ticket).select_related("actor"),
        Order("created", descending=False),
        cursor=page.cursor,
        limit=page.limit,
        scope=f"history:{ticket.pk}",
    )
    return {"items": items, "next_cursor": next_cursor}
