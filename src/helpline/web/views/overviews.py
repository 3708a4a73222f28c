"""Dashboard, queue view and the personal overviews (locked, owned, watched, ...)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from helpline.actions.access import queues_with
from helpline.models import AgentProfile, Permission, Ticket
from helpline.replica import replica_reads
from helpline.web import listing
from helpline.web.views.decorators import AgentRequest, agent_view

# view name -> (title, default order)
LISTS = {
    "locked": (_("My locked tickets"), ("-priority", "created", "id")),
    "owned": (_("Tickets I own"), ("-priority", "created", "id")),
    "responsible": (_("Tickets I am responsible for"), ("-priority", "created", "id")),
    "watched": (_("Watched tickets"), ("-changed", "id")),
    "reminders": (_("Pending reminders reached"), ("pending_until", "id")),
    "new": (_("New tickets"), listing.QUEUE_ORDER),
    "open": (_("Open tickets"), listing.QUEUE_ORDER),
    "closed": (_("Closed tickets"), ("-closed_at", "-id")),
}


@agent_view
@replica_reads
def dashboard(request: AgentRequest) -> HttpResponse:
    agent = request.user
    return render(
        request,
        "helpline/dashboard.html",
        {
            "counts": listing.dashboard_counts(agent),
            "tree": listing.queue_tree(agent),
        },
    )


def _list_context(request: AgentRequest, qs, default: tuple[str, ...]) -> dict:
    sorting = listing.sorting_from(request)
    escalation = request.GET.get("escalation", "")
    qs = listing.filter_escalation(qs, escalation)
    page = listing.paginate(
        request, listing.apply_sorting(qs, sorting, default=default)
    )
    return {
        "page": page,
        "sorting": sorting,
        "sort_links": {key: sorting.param(key) for key in listing.SORTS},
        "page_sizes": listing.PAGE_SIZES,
        "page_size": page.paginator.per_page,
        "total": page.paginator.count,
        "pages": page.paginator.num_pages,
        "rows": listing.with_urls(page.object_list),
        "escalation": escalation if escalation in listing.ESCALATION_FILTERS else "",
    }


@agent_view
@replica_reads
def queues(request: AgentRequest, queue_id: int | None = None) -> HttpResponse:
    """One queue's open tickets, or "my queues" (the followed ones, else all)."""
    agent = request.user
    tree = listing.queue_tree(agent)
    visible = Ticket.objects.visible_to(agent).open()
    if queue_id is not None:
        queue = queues_with(agent, Permission.RO).filter(pk=queue_id).first()
        if queue is None:
            raise Http404
        # Every ticket of a queue the agent may read is visible (visible_tickets_q),
        # so the queue alone selects them, straight from the queue-view index;
        # visible_to's OR would be tested on each of the queue's open tickets.
        qs = Ticket.objects.filter(queue=queue).open()
        title: object = queue.name
    else:
        queue = None
        followed = AgentProfile.followed_queues.through.objects.filter(
            agentprofile__user=agent
        )
        if followed.exists():
            qs = visible.filter(queue_id__in=followed.values("queue_id"))
            title = _("My queues")
        else:
            qs = visible
            title = _("All my queues")
    context = _list_context(request, qs, listing.QUEUE_ORDER)
    context.update({"tree": tree, "queue": queue, "title": title})
    return render(request, "helpline/queues.html", context)


@agent_view
@replica_reads
def ticket_list(request: AgentRequest, view: str) -> HttpResponse:
    if view not in LISTS:
        raise Http404
    title, default = LISTS[view]
    context = _list_context(request, listing.ticket_list(request.user, view), default)
    context.update({"title": title, "view": view})
    return render(request, "helpline/ticket_list.html", context)
