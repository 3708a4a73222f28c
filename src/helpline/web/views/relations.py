"""Tickets and other tickets: merge (and undo), split an article, link and unlink."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from helpline.actions import merge
from helpline.actions.access import access_ticket, queues_with
from helpline.errors import HelplineError
from helpline.models import LinkType, Permission, StateType, Ticket
from helpline.web import forms
from helpline.web.views.decorators import AgentRequest, agent_view
from helpline.web.views.screens import action_screen, zoom_url

CANDIDATES = 20


def merge_candidates(agent: Any, ticket: Ticket, query: str) -> QuerySet[Ticket]:
    """Tickets to merge into: by number or title words, else the customer's others."""
    qs = (
        Ticket.objects.visible_to(agent)
        .exclude(pk=ticket.pk)
        .exclude(state_type__in=[StateType.MERGED, StateType.REMOVED])
        .select_related("queue", "state", "customer")
    )
    query = query.strip()
    if query:
        words = Q()
        for word in query.split()[:5]:
            words &= Q(title__icontains=word)
        qs = qs.filter(Q(number=query) | words)
    elif ticket.customer_id is not None:
        qs = qs.filter(customer_id=ticket.customer_id)
    else:
        return qs.none()
    return qs.order_by("-changed")[:CANDIDATES]


@agent_view
def merge_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    query = request.GET.get("q", "")

    def perform(data: dict[str, Any]) -> str:
        target = access_ticket(agent, number=data["target"].strip())
        merged_into = merge.merge_tickets(agent, ticket.pk, target.pk)
        return reverse("zoom", args=[merged_into.number])

    return action_screen(
        request,
        ticket,
        form=forms.MergeForm(request.POST or None),
        title=_("Merge this ticket into another"),
        submit=_("Merge"),
        perform=perform,
        success=_("The tickets were merged."),
        partial="helpline/partials/merge_form.html",
        extra={
            "query": query,
            "candidates": list(merge_candidates(agent, ticket, query)),
        },
    )


@agent_view
def unmerge_view(request: AgentRequest, number: str) -> HttpResponse:
    ticket = access_ticket(request.user, number=number)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        merge.unmerge_ticket(request.user, ticket.pk)
    except HelplineError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The merge was undone."))
    return redirect(zoom_url(ticket))


@agent_view
def split_view(request: AgentRequest, number: str, article_id: int) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    article = ticket.articles.filter(pk=article_id).first()
    if article is None:
        raise Http404

    def perform(data: dict[str, Any]) -> str:
        new = merge.split_article(
            agent, article.pk, queue=data["queue"], title=data["title"]
        )
        return reverse("zoom", args=[new.number])

    form = forms.SplitForm(
        request.POST or None,
        queues=queues_with(agent, Permission.CREATE),
        initial={
            "queue": ticket.queue_id,
            "title": article.subject or ticket.title,
        },
    )
    return action_screen(
        request,
        ticket,
        form=form,
        title=_("Split this article into a new ticket"),
        submit=_("Split"),
        perform=perform,
        success=_("The new ticket was created and linked as a child."),
    )


@agent_view
def link_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    form = forms.LinkForm(request.POST or None)

    def perform(data: dict[str, Any]) -> None:
        other = access_ticket(agent, number=data["other"].strip())
        if data["relation"] == "child":
            merge.link_tickets(agent, other.pk, ticket.pk, type_=LinkType.PARENT_CHILD)
        else:
            merge.link_tickets(agent, ticket.pk, other.pk, type_=form.link_type())

    return action_screen(
        request,
        ticket,
        form=form,
        title=_("Link to another ticket"),
        submit=_("Link"),
        perform=perform,
        success=_("The tickets are linked."),
    )


@agent_view
def unlink_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        other = access_ticket(agent, number=request.POST.get("other", ""))
        merge.unlink_tickets(agent, ticket.pk, other.pk)
    except HelplineError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The link was removed."))
    return redirect(zoom_url(ticket))
