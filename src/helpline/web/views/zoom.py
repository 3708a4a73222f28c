"""The ticket zoom: header, articles, attachments, links, merges, history, presence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpline.actions.access import access_ticket, may
from helpline.actions.disclosure import (
    HIDDEN_TICKET,
    OtherTicket,
    ShownEntry,
    present_history,
    present_links,
    present_merges,
)
from helpline.models import (
    AgentProfile,
    Article,
    HistoryEntry,
    OutboxMessage,
    Permission,
    Ticket,
    TicketWatcher,
)
from helpline.models.presence import PresenceAction
from helpline.web import presence
from helpline.web.views.decorators import AgentRequest, agent_view

HISTORY_LIMIT = 500
CUSTOMER_TICKETS = 5
# Details not worth a line in the zoom (the article is right there).
QUIET_KEYS = {"articles", "channel", "sender", "article"}
LINK_LABELS = {
    "linked": _("linked with"),
    "parent": _("parent of"),
    "child": _("child of"),
}


@dataclass
class HistoryRow:
    entry: HistoryEntry
    details: list[str]


@dataclass
class LinkRow:
    ticket: OtherTicket
    relation: Any  # a lazy, translatable label


def article_order(agent: Any) -> str:
    profile = AgentProfile.objects.filter(user=agent).only("article_order").first()
    return profile.article_order if profile is not None else "newest"


def _articles(ticket: Ticket, order: str) -> list[Article]:
    outbox = OutboxMessage.objects.only("id", "article_id", "status", "last_error")
    ordering = ("created", "id") if order == "oldest" else ("-created", "-id")
    return list(
        ticket.articles.select_related("created_by")
        .prefetch_related("attachments", Prefetch("outbox", queryset=outbox))
        .order_by(*ordering)
    )


def _links(agent: Any, ticket: Ticket) -> list[LinkRow]:
    """Linked tickets the agent may see (a link never reveals a hidden ticket)."""
    return [
        LinkRow(link.ticket, LINK_LABELS[link.relation])
        for link in present_links(agent, ticket)
    ]


def _history(agent: Any, ticket: Ticket) -> list[HistoryRow]:
    """History entries with readable details; hidden tickets are not named."""
    entries = list(
        ticket.history.select_related("actor").order_by("-created", "-id")[
            :HISTORY_LIMIT
        ]
    )
    return [HistoryRow(s.entry, _details(s)) for s in present_history(agent, entries)]


def _details(shown: ShownEntry) -> list[str]:
    data = dict(shown.data)
    for key in shown.hidden:
        data[key] = HIDDEN_TICKET
    details = []
    if "old" in data and "new" in data:
        old, new = (_value(data.pop(k)) for k in ("old", "new"))
        details.append(f"{old} → {new}")
    for key, value in data.items():
        if key not in QUIET_KEYS and value not in ("", None, []):
            details.append(f"{key}: {_value(value)}")
    return details


def _value(value: Any) -> str:
    """State names and other stored English words, translated where known."""
    return gettext(value) if isinstance(value, str) and value else str(value)


def permissions(agent: Any, ticket: Ticket) -> dict[str, bool]:
    """What the agent may do here, for showing only the buttons that can work."""
    return {
        name: may(agent, ticket, perm)
        for name, perm in {
            "rw": Permission.RW,
            "note": Permission.NOTE,
            "owner": Permission.OWNER,
            "priority": Permission.PRIORITY,
            "move": Permission.MOVE_INTO,
        }.items()
    }


@agent_view
def zoom(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number)
    presence.mark(agent, ticket, PresenceAction.VIEWING)
    visible = Ticket.objects.visible_to(agent)
    merges = present_merges(agent, ticket)
    context = {
        "ticket": ticket,
        "articles": _articles(ticket, article_order(agent)),
        "history": _history(agent, ticket),
        "links": _links(agent, ticket),
        "merged_here": merges.merged_here,
        "merged_into": merges.merged_into,
        "merged_into_hidden": merges.merged_into_hidden,
        "hidden_ticket": HIDDEN_TICKET,
        "customer_tickets": list(
            visible.filter(customer_id=ticket.customer_id)
            .exclude(pk=ticket.pk)
            .select_related("state")
            .order_by("-created")[:CUSTOMER_TICKETS]
        )
        if ticket.customer_id
        else [],
        "watching": TicketWatcher.objects.filter(ticket=ticket, agent=agent).exists(),
        "can": permissions(agent, ticket),
        "others": presence.others(agent, ticket),
        "presence_action": PresenceAction.VIEWING,
        "locked_by_other": ticket.locked and ticket.owner_id not in (None, agent.pk),
    }
    return render(request, "helpline/zoom.html", context)
