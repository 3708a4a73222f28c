"""The collision warning, polled by the zoom and the reply screen (htmx, every 10 s)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from helpline.actions import drafts
from helpline.actions.access import access_ticket
from helpline.replica import no_pin
from helpline.web import presence
from helpline.web.views.decorators import AgentRequest, agent_view


@no_pin
@agent_view
def presence_view(request: AgentRequest, number: str) -> HttpResponse:
    """POST: a heartbeat (``action``: viewing or replying); both: who else is here,
    and whether the ticket changed since the page showed ``version``."""
    agent = request.user
    ticket = access_ticket(agent, number=number)
    params = request.POST if request.method == "POST" else request.GET
    action = params.get("action", "viewing")
    if request.method == "POST":
        presence.mark(agent, ticket, action)
    try:
        seen = int(params.get("version", ""))
    except ValueError:
        seen = None
    context = {
        "ticket": ticket,
        "others": presence.others(agent, ticket),
        "drafters": drafts.drafters(agent, ticket),
        "changed": seen is not None and seen != ticket.version,
        "presence_action": action,
        "locked_by_other": ticket.locked and ticket.owner_id not in (None, agent.pk),
    }
    return render(request, "helpline/partials/collision.html", context)
