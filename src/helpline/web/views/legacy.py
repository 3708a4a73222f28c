"""Old agent links of the system Helpline replaced, redirected to the imported ticket.

``/otrs/index.pl?Action=AgentTicketZoom;TicketID=123;ArticleID=456`` (``&`` or
``;`` between the parameters, ``TicketNumber=`` instead of ``TicketID=``) leads to the
ticket's zoom after the usual access check: a ticket that was never imported and a
ticket the agent may not see give the same "not found" (``access_ticket``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse

from helpline.actions.access import access_ticket
from helpline.errors import TicketNotFound
from helpline.importers.znuny.continuity import imported_target
from helpline.models import Article
from helpline.web.views.decorators import AgentRequest, agent_view

_SEPARATORS = re.compile(r"[;&]")


def parameters(query: str) -> dict[str, str]:
    """An OTRS query string: ``;`` separates parameters as well as ``&``."""
    found: dict[str, str] = {}
    for part in _SEPARATORS.split(query):
        name, _, value = part.partition("=")
        if name:
            found.setdefault(unquote_plus(name), unquote_plus(value).strip())
    return found


def _answers(prefix: str) -> bool:
    path = "/" + prefix.lstrip("/")
    return any(
        path == "/" + p.strip("/") + "/" if p.strip("/") else path == "/"
        for p in settings.HELPLINE_LEGACY_URL_PREFIXES
    )


@agent_view
def legacy_link(request: AgentRequest, prefix: str = "") -> HttpResponse:
    """Redirect an old ticket link to the ticket, or the ticket's "not found"."""
    given = parameters(request.META.get("QUERY_STRING", ""))
    action = given.get("Action", "")
    ticket_id = given.get("TicketID", "")
    number = given.get("TicketNumber", "")
    if not _answers(prefix) or not action.startswith("AgentTicket"):
        raise TicketNotFound("Ticket not found.")
    if ticket_id:
        target = imported_target("ticket", ticket_id) if ticket_id.isdigit() else None
        if target is None:
            raise TicketNotFound("Ticket not found.")
        ticket = access_ticket(request.user, target)
    elif number:
        ticket = access_ticket(request.user, number=number)
    else:
        raise TicketNotFound("Ticket not found.")
    url = reverse("zoom", args=[ticket.number])
    article_id = given.get("ArticleID", "")
    article = imported_target("article", article_id) if article_id.isdigit() else None
    if (
        article is not None
        and Article.objects.filter(pk=article, ticket=ticket).exists()
    ):
        url = f"{url}?all=1#article-{article}"
    return HttpResponseRedirect(url)
