"""Bulk actions on a selection from a list: each ticket through the same action.

A failure on one ticket (locked by someone else, no permission) does not stop the
others; the result page lists what happened to each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from helpline.actions import locks, merge, spam, tickets
from helpline.actions.access import access_ticket, queues_with
from helpline.errors import HelplineError, InvalidInput
from helpline.models import Article, Permission, Ticket
from helpline.responses import replies
from helpline.web import forms
from helpline.web.views.changes import spam_said
from helpline.web.views.decorators import AgentRequest, agent_view

MAX_BULK = 200


@dataclass
class Outcome:
    ticket: Ticket
    ok: bool
    message: str


def selected_tickets(agent: Any, raw_ids: list[str]) -> list[Ticket]:
    ids = [int(x) for x in raw_ids if x.isdigit()][:MAX_BULK]
    return list(
        Ticket.objects.visible_to(agent)
        .filter(pk__in=ids)
        .select_related("queue", "state", "owner")
        .order_by("number")
    )


def _operation(agent: Any, data: dict[str, Any]) -> Callable[[Ticket], object]:
    """The per-ticket call for the chosen action; input errors raise before any runs."""
    action = data["action"]
    if action == "lock":
        return lambda t: locks.lock_ticket(agent, t.pk)
    if action == "unlock":
        return lambda t: locks.unlock_ticket(agent, t.pk)
    if action == "move":
        return lambda t: tickets.move_ticket(
            agent, t.pk, data["queue"], take=data["take"]
        )
    if action == "state":
        return lambda t: tickets.set_state(
            agent, t.pk, data["state"], pending_until=data["pending_until"]
        )
    if action == "priority":
        return lambda t: tickets.set_priority(agent, t.pk, data["priority"])
    if action == "owner":
        owner = (
            get_user_model()
            .objects.filter(username=data["owner"].strip(), is_active=True)
            .first()
        )
        if owner is None:
            raise InvalidInput(_("No active agent with that login."))
        return lambda t: locks.set_owner(agent, t.pk, owner)
    if action == "merge":
        target = access_ticket(agent, number=data["target"].strip())

        def merge_one(t: Ticket) -> object:
            if t.pk == target.pk:
                return None
            return merge.merge_tickets(agent, t.pk, target.pk)

        return merge_one
    if action == "reply":
        name = data["template"]
        # Each ticket checked (rw), composed for its own customer and ticket, and
        # sent on its own: one that fails leaves the others alone.
        return lambda t: _replied(replies.reply(agent, t.pk, template=name))
    if action == "spam":
        return lambda t: spam_said(spam.mark_spam(agent, t.pk))
    if action == "not_spam":
        return lambda t: spam_said(spam.mark_not_spam(agent, t.pk))
    if action == "close":
        return lambda t: tickets.close_ticket(
            agent, t.pk, note=data["note"], state_name=data["close_state"]
        )
    raise InvalidInput(_("Unknown bulk action."))


def _replied(article: Article) -> str:
    return _("reply queued to %(to)s") % {"to": article.to_addr}


def run_bulk(agent: Any, selected: list[Ticket], data: dict[str, Any]) -> list[Outcome]:
    operation = _operation(agent, data)
    outcomes = []
    for ticket in selected:
        try:
            done = operation(ticket)
        except HelplineError as exc:
            outcomes.append(Outcome(ticket, False, exc.message))
        else:
            said = done if isinstance(done, str) else _("done")
            outcomes.append(Outcome(ticket, True, said))
    return outcomes


@agent_view
def bulk_view(request: AgentRequest) -> HttpResponse:
    agent = request.user
    params = request.POST if request.method == "POST" else request.GET
    selected = selected_tickets(agent, params.getlist("ids"))
    form = forms.BulkForm(
        request.POST or None,
        queues=queues_with(agent, Permission.MOVE_INTO),
        templates=replies.answer_template_names({t.queue_id for t in selected}),
        # A list's "Spam" / "Not spam" button (or key) names the action.
        initial={"action": params.get("action", "")},
    )
    status = 200
    if request.method == "POST" and selected and form.is_valid():
        try:
            outcomes = run_bulk(agent, selected, form.cleaned_data)
        except HelplineError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            failed = sum(1 for o in outcomes if not o.ok)
            return render(
                request,
                "helpline/bulk_result.html",
                {"outcomes": outcomes, "failed": failed},
            )
    return render(
        request,
        "helpline/bulk.html",
        {"form": form, "selected": selected},
        status=status,
    )
