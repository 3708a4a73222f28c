"""The ticket zoom: header, articles, attachments, links, merges, history, presence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpline.actions.access import access_ticket, may
from helpline.models import (
    AgentProfile,
    Article,
    HistoryEntry,
    HistoryType,
    LinkType,
    OutboxMessage,
    Permission,
    Ticket,
    TicketLink,
    TicketWatcher,
)
from helpline.models.presence import PresenceAction
from helpline.web import presence
from helpline.web.views.decorators import AgentRequest, agent_view

HISTORY_LIMIT = 500
CUSTOMER_TICKETS = 5
# History data keys that hold another ticket's number, by entry type.
TICKET_KEYS: dict[str, tuple[str, ...]] = {
    HistoryType.MERGED: ("into", "source"),
    HistoryType.UNMERGED: ("target", "source"),
    HistoryType.SPLIT: ("new", "source"),
    HistoryType.LINK_ADDED: ("other",),
    HistoryType.LINK_REMOVED: ("other",),
}
# Details not worth a line in the zoom (the article is right there).
QUIET_KEYS = {"articles", "channel", "sender", "article"}


@dataclass
class HistoryRow:
    entry: HistoryEntry
    details: list[str]


@dataclass
class LinkRow:
    ticket: Ticket
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
    """Linked tickets the agent may see (a link never reveals a hidden ticket).

    At most two queries: the links, then the visible tickets at their other ends by
    primary key (an ``OR`` of two subqueries here made PostgreSQL scan every ticket).
    """
    links = list(TicketLink.objects.filter(Q(source=ticket) | Q(target=ticket)))
    others = {
        link.target_id if link.source_id == ticket.pk else link.source_id
        for link in links
    }
    visible = (
        {
            t.pk: t
            for t in Ticket.objects.visible_to(agent)
            .filter(pk__in=others)
            .select_related("state")
        }
        if others
        else {}
    )
    rows = []
    for link in links:
        mine = link.source_id == ticket.pk
        other = visible.get(link.target_id if mine else link.source_id)
        if other is None:
            continue
        if link.type == LinkType.PARENT_CHILD:
            relation = _("parent of") if mine else _("child of")
        else:
            relation = _("linked with")
        rows.append(LinkRow(other, relation))
    return sorted(rows, key=lambda r: r.ticket.number)


def _history(agent: Any, ticket: Ticket) -> list[HistoryRow]:
    """History entries with readable details; numbers of hidden tickets are withheld."""
    entries = list(
        ticket.history.select_related("actor").order_by("-created", "-id")[
            :HISTORY_LIMIT
        ]
    )
    mentioned = {
        str(e.data[key])
        for e in entries
        for key in TICKET_KEYS.get(e.type, ())
        if key in e.data
    }
    # Always one query ("" matches no ticket), so the zoom's cost does not depend on
    # what its history mentions.
    visible = set(
        Ticket.objects.visible_to(agent)
        .filter(number__in=[*mentioned, ""])
        .values_list("number", flat=True)
    )
    return [HistoryRow(e, _details(e, visible)) for e in entries]


def _details(entry: HistoryEntry, visible: set[str]) -> list[str]:
    data = dict(entry.data)
    for key in TICKET_KEYS.get(entry.type, ()):
        if key in data and str(data[key]) not in visible:
            data[key] = gettext("(a ticket you may not see)")
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
    context = {
        "ticket": ticket,
        "articles": _articles(ticket, article_order(agent)),
        "history": _history(agent, ticket),
        "links": _links(agent, ticket),
        "merged_here": list(visible.filter(merged_into=ticket).order_by("number")),
        "merged_into": (
            visible.filter(pk=ticket.merged_into_id).first()
            if ticket.merged_into_id
            else None
        ),
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
