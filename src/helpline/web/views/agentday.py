"""Mentions, out of office and saved searches in the web interface (docs/web.md).

Each view parses the input, calls the action (``actions.mentions``,
``actions.out_of_office``, ``actions.saved_searches``) and renders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from helpline.actions import mentions, out_of_office, saved_searches
from helpline.actions.access import access_ticket
from helpline.errors import HelplineError
from helpline.models import Mention
from helpline.replica import replica_reads
from helpline.web import listing
from helpline.web.views.decorators import AgentRequest, agent_view


@agent_view
@replica_reads
def mentions_view(request: AgentRequest) -> HttpResponse:
    """The tickets the agent was @mentioned on, newest mention first."""
    agent = request.user
    mine = Mention.objects.filter(ticket=OuterRef("pk"), agent=agent)
    qs = mentions.mentioned_tickets(agent).annotate(
        mentioned_at=Subquery(mine.values("created")[:1]),
        mentioned_by=Subquery(mine.values("by__username")[:1]),
    )
    page = listing.paginate(request, qs.order_by("-mentioned_at", "-id"))
    return render(
        request,
        "helpline/mentions.html",
        {
            "page": page,
            "rows": listing.with_urls(page.object_list),
            "total": page.paginator.count,
            "pages": page.paginator.num_pages,
            "page_sizes": listing.PAGE_SIZES,
            "page_size": page.paginator.per_page,
        },
    )


@agent_view
def dismiss_mention_view(request: AgentRequest, number: str) -> HttpResponse:
    ticket = access_ticket(request.user, number=number)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    mentions.dismiss_mention(request.user, ticket.pk)
    messages.success(request, _("The mention was dismissed."))
    return redirect("mentions")


@agent_view
@require_POST
def dismiss_all_mentions_view(request: AgentRequest) -> HttpResponse:
    """ "Mark all as done": the whole list at once."""
    count = mentions.dismiss_all_mentions(request.user)
    messages.success(
        request,
        ngettext(
            "%(n)d mention was marked as done.",
            "%(n)d mentions were marked as done.",
            count,
        )
        % {"n": count},
    )
    return redirect("mentions")


def not_notified_message(outcome: mentions.MentionOutcome) -> str | None:
    """The neutral hint after a note whose mentions did not all notify."""
    if not outcome.not_notified:
        return None
    return _(
        "Not notified: %(logins)s. Only agents who may read this ticket are "
        "notified of a mention."
    ) % {"logins": ", ".join("@" + login for login in outcome.not_notified)}


# Out of office


class OutOfOfficeForm(forms.Form):
    start = forms.DateTimeField(
        label=gettext_lazy("From"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    end = forms.DateTimeField(
        label=gettext_lazy("Until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        help_text=gettext_lazy("The times above are in this zone, e.g. Europe/Berlin."),
    )
    substitute = forms.CharField(
        label=gettext_lazy("Substitute (login)"),
        max_length=150,
        required=False,
        help_text=gettext_lazy(
            "Gets your notifications and new assignments while you are away, for "
            "the tickets they may read."
        ),
    )


def _local(value: datetime, zone: str) -> datetime:
    return timezone.localtime(value, ZoneInfo(zone)).replace(tzinfo=None)


@agent_view
def out_of_office_view(request: AgentRequest) -> HttpResponse:
    agent = request.user
    current = out_of_office.get_out_of_office(agent)
    initial: dict[str, Any] = {"time_zone": timezone.get_current_timezone_name()}
    if current is not None:
        initial = {
            "start": _local(current.start, current.time_zone),
            "end": _local(current.end, current.time_zone),
            "time_zone": current.time_zone,
            "substitute": current.substitute.get_username()
            if current.substitute
            else "",
        }
    if request.method == "POST" and request.POST.get("clear"):
        out_of_office.clear_out_of_office(agent)
        messages.success(request, _("Your out-of-office was removed."))
        return redirect("out-of-office")
    form = OutOfOfficeForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            out_of_office.set_out_of_office(
                agent,
                # The form's times are in the zone given, not the page's.
                start=timezone.make_naive(data["start"])
                if timezone.is_aware(data["start"])
                else data["start"],
                end=timezone.make_naive(data["end"])
                if timezone.is_aware(data["end"])
                else data["end"],
                time_zone=data["time_zone"],
                substitute=data["substitute"] or None,
            )
        except HelplineError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            messages.success(request, _("Your out-of-office was saved."))
            return redirect("out-of-office")
    return render(
        request,
        "helpline/out_of_office.html",
        {"form": form, "current": current},
        status=status,
    )


# Saved searches


@agent_view
def saved_searches_view(request: AgentRequest) -> HttpResponse:
    agent = request.user
    rows = list(saved_searches.visible_saved_searches(agent))
    return render(
        request,
        "helpline/saved_searches.html",
        {"rows": rows, "groups": saved_searches.share_groups(agent)},
    )


@agent_view
@require_POST
def save_search_view(request: AgentRequest) -> HttpResponse:
    """From the search page: keep its query under a name (personal or shared)."""
    try:
        row = saved_searches.create_saved_search(
            request.user,
            name=request.POST.get("name", ""),
            query=request.POST.get("q", ""),
            group=request.POST.get("group") or None,
        )
    except HelplineError as exc:
        messages.error(request, exc.message)
        query = urlencode({"q": request.POST.get("q", "")})
        return redirect(f"{_search_url()}?{query}")
    messages.success(request, _("The search was saved."))
    return redirect("saved-search-run", row.pk)


def _search_url() -> str:
    return reverse("search")


@agent_view
def run_saved_search_view(request: AgentRequest, search_id: int) -> HttpResponse:
    row = saved_searches.get_saved_search(request.user, search_id)
    query = urlencode({"q": row.query, "saved": str(row.pk)})
    return redirect(f"{_search_url()}?{query}")


@agent_view
def edit_saved_search_view(request: AgentRequest, search_id: int) -> HttpResponse:
    saved_searches.get_saved_search(request.user, search_id)  # 404 first
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        saved_searches.update_saved_search(
            request.user,
            search_id,
            name=request.POST.get("name"),
            query=request.POST.get("q"),
            group=request.POST.get("group", ""),
        )
    except HelplineError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The saved search was changed."))
    return redirect("saved-searches")


@agent_view
def delete_saved_search_view(request: AgentRequest, search_id: int) -> HttpResponse:
    saved_searches.get_saved_search(request.user, search_id)  # 404 first
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    saved_searches.delete_saved_search(request.user, search_id)
    messages.success(request, _("The saved search was deleted."))
    return redirect("saved-searches")
