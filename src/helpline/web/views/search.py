"""The search box and the advanced search form (the engine is ``helpline.search``).

The engine is imported when a search runs, so the interface works (and says so) while
it is not installed.  Results are re-read through ``visible_to``: the engine filters by
permission already, and a list never shows what the zoom would refuse.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from helpline.errors import InvalidInput
from helpline.models import Ticket
from helpline.replica import replica_reads
from helpline.web import forms, listing
from helpline.web.views.decorators import AgentRequest, agent_view

ORDERS = {
    "relevance": "relevance",
    "-created": "-created",
    "created": "created",
    "-changed": "-changed",
    "-priority": "-priority",
}


def engine() -> ModuleType | None:
    """``helpline.search`` if it is installed and complete, else None."""
    if importlib.util.find_spec("helpline.search") is None:
        return None
    module = importlib.import_module("helpline.search")
    if not hasattr(module, "search_tickets") or not hasattr(module, "parse_query"):
        return None
    return module


@dataclass
class ResultPage:
    number: int
    size: int
    total: int
    capped: bool  # total is a lower bound
    full: bool = False  # this page has ``size`` rows

    @property
    def pages(self) -> int:
        """Pages for the total (at least this one; more may follow when capped)."""
        return max(1, -(-self.total // self.size), self.number)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages or (self.capped and self.full)

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def _page_number(request: AgentRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _ticket_number(agent: Any, query: str) -> str | None:
    """A query that is just a visible ticket's number opens that ticket."""
    word = query.strip()
    if not word or " " in word or len(word) > 40:
        return None
    hit = Ticket.objects.visible_to(agent).filter(number=word).first()
    return hit.number if hit is not None else None


@agent_view
@replica_reads
def search(request: AgentRequest) -> HttpResponse:
    agent = request.user
    query = request.GET.get("q", "").strip()
    # Checked: archived tickets too (the engine's None); unchecked: not archived.
    archived = request.GET.get("archived") == "1"
    order = request.GET.get("order", "relevance")
    order = order if order in ORDERS else "relevance"
    context: dict[str, Any] = {
        "query": query,
        "archived": archived,
        "order": order,
        "advanced": forms.AdvancedSearchForm(),
        "page_sizes": listing.PAGE_SIZES,
    }
    if query:
        number = _ticket_number(agent, query)
        if number is not None:
            return redirect("zoom", number)
    module = engine()
    if module is None:
        context["unavailable"] = True
        return render(request, "helpline/search.html", context)
    if query:
        size = listing.page_size_from(request)
        page = _page_number(request)
        try:
            result = module.search_tickets(
                agent,
                query,
                archived=None if archived else False,
                order=ORDERS[order],
                limit=size,
                offset=(page - 1) * size,
            )
        except InvalidInput as exc:
            context["error"] = exc.message
            return render(request, "helpline/search.html", context, status=400)
        found = {
            t.pk: t
            for t in listing.list_rows(
                Ticket.objects.visible_to(agent).filter(pk__in=result.ticket_ids)
            )
        }
        context["rows"] = listing.with_urls(
            found[i] for i in result.ticket_ids if i in found
        )
        pager = ResultPage(
            page,
            size,
            result.total,
            result.total_capped,
            full=len(result.ticket_ids) == size,
        )
        context.update(
            page=pager,
            page_size=size,
            total=result.total,
            pages=pager.pages,
            capped=result.total_capped,
            hints=result.hints,
        )
    return render(request, "helpline/search.html", context)


def build_query(data: dict[str, Any]) -> str:
    """The search syntax for the advanced form's fields (``field:value`` terms)."""
    terms = [data["words"].strip()] if data.get("words", "").strip() else []
    for field in ("queue", "state", "owner", "customer"):
        value = (data.get(field) or "").strip()
        if value:
            terms.append(f"{field}:{_quoted(value)}")
    if data.get("priority"):
        terms.append(f"priority:{data['priority']}")
    if data.get("created_from"):
        terms.append(f"created:>={data['created_from'].isoformat()}")
    if data.get("created_to"):
        terms.append(f"created:<={data['created_to'].isoformat()}")
    return " ".join(terms)


def _quoted(value: str) -> str:
    if any(ch.isspace() for ch in value) or ":" in value:
        return '"' + value.replace('"', "") + '"'
    return value


@agent_view
@replica_reads
def advanced_search(request: AgentRequest) -> HttpResponse:
    form = forms.AdvancedSearchForm(request.GET or None)
    if form.is_valid():
        query = build_query(form.cleaned_data)
        if not query:
            form.add_error(None, _("Fill in at least one field."))
        else:
            params = {"q": query}
            if form.cleaned_data["archived"]:
                params["archived"] = "1"
            return redirect(f"{reverse('search')}?{urlencode(params)}")
    return render(
        request,
        "helpline/search.html",
        {"advanced": form, "query": "", "show_advanced": True},
    )
