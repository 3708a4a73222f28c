"""The history of a ticket: every change, who made it and when, oldest first."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from helpline.actions import read_audit
from helpline.actions.access import access_ticket
from helpline.actions.disclosure import ShownEntry, present_history
from helpline.api.pagination import Order, keyset_page
from helpline.api.schemas import HistoryPage, PageParams, TicketNumber, answers
from helpline.models import HistoryEntry, ReadKind

router = Router(tags=["tickets"])


@router.get(
    "/tickets/{number}/history",
    response=answers({200: HistoryPage}, 404),
    summary="The history of a ticket, oldest first",
)
def ticket_history(
    request: HttpRequest, number: TicketNumber, page: Query[PageParams]
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    read_audit.record(agent, ticket, ReadKind.HISTORY)
    items, next_cursor = keyset_page(
        HistoryEntry.objects.filter(ticket=ticket).select_related("actor"),
        Order("created", descending=False),
        cursor=page.cursor,
        limit=page.limit,
        scope=f"history:{ticket.pk}",
    )
    shown = present_history(agent, items)
    return {"items": [history_out(s) for s in shown], "next_cursor": next_cursor}


def history_out(shown: ShownEntry) -> dict[str, Any]:
    """An entry as the API shows it: numbers of tickets the caller may not see are
    null, and ``hidden`` names those fields."""
    entry = shown.entry
    return {
        "id": entry.pk,
        "type": entry.type,
        "actor": entry.actor.get_username() if entry.actor is not None else None,
        "created": entry.created,
        "article_id": entry.article_id,
        "data": shown.data,
        "hidden": list(shown.hidden),
    }
