"""The ticket zoom: header, articles, attachments, links, merges, history, presence.

A ticket may carry hundreds of articles.  The zoom renders the newest
``HELPLINE_ZOOM_ARTICLES`` (20) in full and the older ones as collapsed headers whose
message loads when opened (``article_partial``, through the same access check), and
the newest ``HISTORY_SHOWN`` history entries; ``?all=1`` renders everything (the path
without JavaScript).  Per-article URLs come from one ``reverse`` each (``row_url``)
and dates are formatted here: ``{% url %}`` and ``|date`` per row were most of the
rendering time of a long ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language_bidi, gettext
from django.utils.translation import gettext_lazy as _

from helpline import local_format
from helpline.actions import drafts, mentions, privacy_rights, read_audit, spam
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
    HistoryEntry,
    Permission,
    ReadKind,
    Ticket,
    TicketWatcher,
)
from helpline.models.presence import PresenceAction
from helpline.web import presence
from helpline.web.views.articles import (
    ArticleLinks,
    articles_shown,
    full_articles,
    zoom_articles,
)
from helpline.web.views.decorators import AgentRequest, agent_view, is_htmx
from helpline.web.views.redaction import show_tombstones

HISTORY_LIMIT = 500
# History entries the zoom shows before "show all" (the newest).
HISTORY_SHOWN = 30
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
    created_full: str = ""
    created_short: str = ""


@dataclass
class LinkRow:
    ticket: OtherTicket
    relation: Any  # a lazy, translatable label


def article_order(agent: Any) -> str:
    profile = AgentProfile.objects.filter(user=agent).only("article_order").first()
    return profile.article_order if profile is not None else "newest"


def _links(agent: Any, ticket: Ticket) -> list[LinkRow]:
    """Linked tickets the agent may see (a link never reveals a hidden ticket)."""
    return [
        LinkRow(link.ticket, LINK_LABELS[link.relation])
        for link in present_links(agent, ticket)
    ]


def _history(agent: Any, ticket: Ticket, *, limit: int) -> list[HistoryRow]:
    """The newest ``limit`` history entries with readable details; hidden tickets
    are not named."""
    entries = list(
        ticket.history.select_related("actor").order_by("-created", "-id")[:limit]
    )
    rows = []
    for shown in present_history(agent, entries):
        created = shown.entry.created
        rows.append(
            HistoryRow(
                shown.entry,
                _details(shown),
                local_format.long_datetime(created),
                local_format.short_datetime(created),
            )
        )
    return rows


def _details(shown: ShownEntry) -> list[str]:
    data = dict(shown.data)
    for key in shown.hidden:
        data[key] = HIDDEN_TICKET
    details = []
    if "old" in data and "new" in data:
        old, new = (_value(data.pop(k)) for k in ("old", "new"))
        # The arrow points the way the line is read (right to left in Arabic).
        arrow = "←" if get_language_bidi() else "→"
        details.append(f"{old} {arrow} {new}")
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
            "redact": Permission.REDACT,
        }.items()
    }


def ticket_urls(number: str) -> dict[str, str]:
    """The ticket's own URLs the articles link to (reversed once per page)."""
    return {name: reverse(name, args=[number]) for name in ("reply", "forward")}


@agent_view
def zoom(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number)
    read_audit.record(agent, ticket, ReadKind.TICKET)
    mentions.mark_seen(agent, ticket)  # read: it leaves "Mentions"
    presence.mark(agent, ticket, PresenceAction.VIEWING)
    visible = Ticket.objects.visible_to(agent)
    merges = present_merges(agent, ticket)
    show_all = request.GET.get("all") == "1"
    articles = zoom_articles(
        ticket, article_order(agent), limit=None if show_all else articles_shown()
    )
    all_url = reverse("zoom", args=[ticket.number]) + "?all=1"
    links = ArticleLinks(ticket.number, all_url=all_url)
    shown = HISTORY_LIMIT if show_all else HISTORY_SHOWN
    history = _history(agent, ticket, limit=shown + 1)
    shown_articles = [links.full(a) for a in articles.full]
    show_tombstones(shown_articles)
    context = {
        "ticket": ticket,
        "articles": shown_articles,
        "older_count": len(articles.older),
        "older_articles": links.headers_html(articles.older),
        "older_first": articles.older_first,
        "all_url": all_url,
        "urls": ticket_urls(ticket.number),
        "history": history[:shown],
        "history_more": len(history) > shown,
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
        # "Not spam" in a junk queue, "Spam" elsewhere (docs/spam.md).
        "in_junk": spam.is_junk(ticket.queue),
        "others": presence.others(agent, ticket),
        # Who has an unsent draft (never its text; actions.drafts).
        "drafters": drafts.drafters(agent, ticket),
        "presence_action": PresenceAction.VIEWING,
        "locked_by_other": ticket.locked and ticket.owner_id not in (None, agent.pk),
        # Setting or releasing a legal hold (views.privacy).
        "may_hold": privacy_rights.may_handle_personal_data(agent),
        # Past its escalation time (docs/service-levels.md).
        "escalated": ticket.escalation_at is not None
        and ticket.escalation_at <= timezone.now(),
    }
    return render(request, "helpline/zoom.html", context)


@agent_view
def article_partial(
    request: AgentRequest, number: str, article_id: int
) -> HttpResponse:
    """One article in full, for a collapsed header of the zoom (htmx); the zoom with
    every article, at this one, for a browser that asks for it directly."""
    agent = request.user
    ticket = access_ticket(agent, number=number)
    article = full_articles(ticket.articles.filter(pk=article_id)).first()
    if article is None:
        raise Http404
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not is_htmx(request):
        url = reverse("zoom", args=[ticket.number])
        return redirect(f"{url}?all=1#article-{article.pk}")
    show_tombstones([article])
    read_audit.record(agent, ticket, ReadKind.ARTICLE, article_id=article.pk)
    context = {
        "ticket": ticket,
        "article": ArticleLinks(ticket.number).full(article),
        "urls": ticket_urls(ticket.number),
        "can": permissions(agent, ticket),
    }
    return render(request, "helpline/partials/article.html", context)
