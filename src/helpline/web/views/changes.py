"""Changing a ticket's fields: move, owner, responsible, priority, state, close,
and the one-click actions lock/unlock, watch/unwatch, archive/unarchive,
spam/not spam."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline.actions import locks, spam, tickets
from helpline.actions.access import access_ticket, queues_with
from helpline.actions.articles import add_note
from helpline.errors import HelplineError
from helpline.models import Permission, Ticket
from helpline.web import forms
from helpline.web.views.decorators import AgentRequest, agent_view
from helpline.web.views.screens import action_screen, zoom_url


@agent_view
def move_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.MOVE_INTO)
    queues = queues_with(agent, Permission.MOVE_INTO).exclude(pk=ticket.queue_id)

    def perform(data: dict[str, Any]) -> str | None:
        tickets.move_ticket(agent, ticket.pk, data["queue"], take=data["take"])
        if data["note"].strip():
            add_note(agent, ticket.pk, data["note"], subject=_("Moved"))
        # After a move the agent may no longer see the ticket: go to the queues then.
        if not Ticket.objects.visible_to(agent).filter(pk=ticket.pk).exists():
            return "queues"
        return None

    return action_screen(
        request,
        ticket,
        form=forms.MoveForm(request.POST or None, queues=queues),
        title=_("Move to another queue"),
        submit=_("Move"),
        perform=perform,
        success=_("The ticket was moved."),
    )


@agent_view
def owner_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.OWNER)
    return action_screen(
        request,
        ticket,
        form=forms.OwnerForm(
            request.POST or None,
            queue=ticket.queue,
            initial={"owner": ticket.owner_id},
        ),
        title=_("Change the owner"),
        submit=_("Set owner"),
        perform=lambda d: locks.set_owner(agent, ticket.pk, d["owner"]),
        success=_("The owner was changed."),
    )


@agent_view
def responsible_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    return action_screen(
        request,
        ticket,
        form=forms.ResponsibleForm(
            request.POST or None,
            queue=ticket.queue,
            initial={"responsible": ticket.responsible_id},
        ),
        title=_("Change the responsible agent"),
        submit=_("Set responsible"),
        perform=lambda d: locks.set_responsible(agent, ticket.pk, d["responsible"]),
        success=_("The responsible agent was changed."),
    )


@agent_view
def priority_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.PRIORITY)
    return action_screen(
        request,
        ticket,
        form=forms.PriorityForm(
            request.POST or None, initial={"priority": ticket.priority}
        ),
        title=_("Change the priority"),
        submit=_("Set priority"),
        perform=lambda d: tickets.set_priority(agent, ticket.pk, d["priority"]),
        success=_("The priority was changed."),
    )


@agent_view
def state_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    return action_screen(
        request,
        ticket,
        form=forms.StateForm(
            request.POST or None,
            initial={"state": ticket.state.name, "pending_until": ticket.pending_until},
        ),
        title=_("Change the state"),
        submit=_("Set state"),
        perform=lambda d: tickets.set_state(
            agent, ticket.pk, d["state"], pending_until=d["pending_until"]
        ),
        success=_("The state was changed."),
    )


@agent_view
def close_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    return action_screen(
        request,
        ticket,
        form=forms.CloseForm(request.POST or None),
        title=_("Close the ticket"),
        submit=_("Close"),
        perform=lambda d: tickets.close_ticket(
            agent, ticket.pk, note=d["note"], state_name=d["state"]
        ),
        success=_("The ticket was closed."),
    )


def _one_click(action: Any, success: Any) -> Any:
    """A POST-only view that calls ``action(agent, ticket_id)`` and returns to the zoom."""

    @agent_view
    def view(request: AgentRequest, number: str) -> HttpResponse:
        ticket = access_ticket(request.user, number=number)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            action(request.user, ticket.pk)
        except HelplineError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, success)
        return redirect(zoom_url(ticket))

    view.__name__ = action.__name__
    return view


lock_view = _one_click(locks.lock_ticket, gettext_lazy("The ticket is locked to you."))
unlock_view = _one_click(locks.unlock_ticket, gettext_lazy("The ticket is unlocked."))
watch_view = _one_click(
    tickets.watch_ticket, gettext_lazy("You are watching this ticket.")
)
unwatch_view = _one_click(
    tickets.unwatch_ticket, gettext_lazy("You stopped watching it.")
)
archive_view = _one_click(
    tickets.archive_ticket, gettext_lazy("The ticket was archived.")
)
unarchive_view = _one_click(
    tickets.unarchive_ticket, gettext_lazy("The ticket is unarchived.")
)


def spam_said(result: spam.SpamResult) -> str:
    """What "Spam" or "Not spam" did, for the agent."""
    done = _("Moved to %(queue)s.") if result.moved else _("Stays in %(queue)s.")
    text = done % {"queue": result.queue}
    if result.not_learned:
        why = _("The spam filter did not learn it: %(why)s")
        return f"{text} {why % {'why': result.not_learned}}"
    return f"{text} {_('The spam filter learned it.')}"


def _spam_click(action: Any) -> Any:
    """A click on "Spam" or "Not spam" (POST): the zoom again, or the queues when the ticket
    went where the agent may not follow."""

    @agent_view
    def view(request: AgentRequest, number: str) -> HttpResponse:
        ticket = access_ticket(request.user, number=number)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            result = action(request.user, ticket.pk)
        except HelplineError as exc:
            messages.error(request, exc.message)
            return redirect(zoom_url(ticket))
        say = messages.warning if result.not_learned else messages.success
        say(request, spam_said(result))
        if not Ticket.objects.visible_to(request.user).filter(pk=ticket.pk).exists():
            return redirect("queues")
        return redirect(zoom_url(ticket))

    view.__name__ = action.__name__
    return view


spam_view = _spam_click(spam.mark_spam)
not_spam_view = _spam_click(spam.mark_not_spam)
