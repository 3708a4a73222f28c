"""Drafts of replies, notes and forwards: saved as the agent types, restored when
the form opens again, listed under "My drafts" (``actions.drafts``)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from helpline.actions import drafts
from helpline.errors import HelplineError, InvalidInput
from helpline.models import ComposeDraft, DraftKind, Ticket
from helpline.web.views.decorators import AgentRequest, agent_view

# The form each kind of draft belongs to.
FORM_URL: dict[str, str] = {  # DraftKind: URL name
    DraftKind.REPLY: "reply",
    DraftKind.NOTE: "note",
    DraftKind.FORWARD: "forward",
}


def saved_at(draft: ComposeDraft) -> str:
    """When the draft was last saved, as the agent's clock and language show it
    (15:22, 3:22 p.m.)."""
    return time_format(timezone.localtime(draft.updated), "TIME_FORMAT")


def form_url(number: str, kind: str, fields: dict[str, str] | None = None) -> str:
    url = reverse(FORM_URL[kind], args=[number])
    article = (fields or {}).get("article", "")
    return url + (f"?article={article}" if article.isdigit() else "")


def restore(agent: Any, ticket: Ticket, kind: str, *, opening: bool) -> dict[str, Any]:
    """The form's draft context: where the script saves (``draft_url``,
    ``draft_kind``) and, when the form is ``opening`` (a GET), the agent's saved
    draft (``draft``, ``None`` without one) and when it was saved (HH:MM)."""
    draft = drafts.get_draft(agent, ticket, kind) if opening else None
    return {
        "draft": draft,
        "draft_saved": saved_at(draft) if draft is not None else "",
        "draft_kind": kind,
        "draft_url": reverse("draft", args=[ticket.number]),
    }


def _json_error(exc: HelplineError) -> JsonResponse:
    return JsonResponse({"error": exc.message}, status=exc.http_status)


def draft_view(request: HttpRequest, number: str) -> HttpResponseBase:
    """Save or discard the agent's draft of one form; GET (``?kind=``): the draft,
    as JSON.

    JSON (``{"kind": "reply", "fields": {...}}``, ``"discard": true`` to delete),
    from the forms' script: answers JSON, errors included (401 without a session).
    A form post (the "Save draft" and "Discard draft" buttons, no JavaScript needed):
    back to the form.
    """
    if request.content_type == "application/json" or request.method == "GET":
        if request.method == "POST" and not request.user.is_authenticated:
            # The script's save: an answer it can show, not the login page.
            return JsonResponse({"error": _("Please log in again.")}, status=401)
        return _draft_json(request, number)
    return _draft_form(request, number)


@agent_view
def _draft_json(request: AgentRequest, number: str) -> HttpResponse:
    try:
        if request.method == "GET":
            return _draft_as_json(request, number)
        try:
            data = json.loads(request.body)
        except ValueError:
            raise InvalidInput(_("The draft is not valid JSON.")) from None
        if not isinstance(data, dict):
            raise InvalidInput(_("A draft must be an object of form fields."))
        kind = drafts.kind_of(data.get("kind"))
        if data.get("discard"):
            drafts.discard_draft_of(request.user, number=number, kind=kind)
            return JsonResponse({"discarded": True})
        draft = drafts.save_draft(
            request.user, number=number, kind=kind, fields=data.get("fields")
        )
    except HelplineError as exc:
        return _json_error(exc)
    return JsonResponse({"saved": draft.updated.isoformat(), "time": saved_at(draft)})


def _draft_as_json(request: AgentRequest, number: str) -> HttpResponse:
    draft = drafts.own_draft(
        request.user, number=number, kind=drafts.kind_of(request.GET.get("kind"))
    )
    return JsonResponse(
        {
            "kind": draft.kind,
            "fields": draft.fields,
            "saved": draft.updated.isoformat(),
            "time": saved_at(draft),
        }
    )


@agent_view
def _draft_form(request: AgentRequest, number: str) -> HttpResponse:
    kind = drafts.kind_of(request.POST.get("draft_kind"))
    if request.POST.get("draft_action") == "discard":
        drafts.discard_draft_of(request.user, number=number, kind=kind)
        messages.success(request, _("The draft was discarded."))
        return redirect(form_url(number, kind, request.POST.dict()))
    fields = request.POST.dict()
    draft = drafts.save_draft(request.user, number=number, kind=kind, fields=fields)
    messages.success(request, _("Draft saved at %(time)s.") % {"time": saved_at(draft)})
    return redirect(form_url(number, kind, draft.fields))


@agent_view
def my_drafts(request: AgentRequest) -> HttpResponse:
    """Every draft of the agent; of a ticket it may no longer read only its own
    text, to copy or discard."""
    labels: dict[str, str] = {
        DraftKind.REPLY: _("Reply"),
        DraftKind.NOTE: _("Note"),
        DraftKind.FORWARD: _("Forward"),
    }
    rows = [
        {
            "draft": mine.draft,
            "ticket": mine.ticket,
            "text": mine.text,
            "kind_label": labels[mine.draft.kind],
            "saved": date_format(
                timezone.localtime(mine.draft.updated), "SHORT_DATETIME_FORMAT"
            ),
            "url": form_url(mine.ticket.number, mine.draft.kind, mine.draft.fields)
            if mine.ticket is not None
            else "",
        }
        for mine in drafts.my_drafts(request.user)
    ]
    return render(
        request,
        "helpline/drafts.html",
        {"drafts": rows, "keep_days": settings.HELPLINE_DRAFT_DAYS},
    )


@agent_view
def discard_mine(request: AgentRequest, draft_id: int) -> HttpResponse:
    """Discard one of the agent's drafts (POST; a GET changes nothing)."""
    if request.method != "POST":
        drafts.get_own(request.user, draft_id)  # another's: not found
        return redirect("my-drafts")
    drafts.discard_own(request.user, draft_id)
    messages.success(request, _("The draft was discarded."))
    return redirect("my-drafts")
