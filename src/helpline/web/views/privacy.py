"""The data-protection screens under /privacy/: retention (what the next run removes,
and the runs so far), the erasure of a person (address, preview, confirmation, the
run's status and report), and the legal hold of a ticket (from its zoom).

For holders of the ``handle_personal_data`` right (``actions.privacy_rights``)
only: anyone else, superusers included, gets "Not allowed".  ``SECTIONS`` lists the
screens of the area for its navigation; another screen is one more entry there and
one more URL.  An address is sent by POST only, so that it never lands in a URL
(and so in no access log).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline.actions import (
    erasure,
    legal_hold,
    privacy_rights,
    privacy_runs,
    retention,
)
from helpline.actions.access import access_ticket
from helpline.jobs import enqueue_privacy_run
from helpline.models import PrivacyRunKind, PrivacyRunStatus
from helpline.web.views.decorators import AgentRequest, View, agent_view
from helpline.web.views.screens import action_screen

RUN_REFRESH_SECONDS = 3


@dataclass(frozen=True)
class Section:
    url_name: str
    title: str | Promise
    description: str | Promise


SECTIONS = [
    Section(
        "privacy-retention",
        gettext_lazy("Retention"),
        gettext_lazy(
            "How long each queue keeps its tickets, what the next run removes, and "
            "what the runs removed."
        ),
    ),
    Section(
        "privacy-erasure",
        gettext_lazy("Erasure of a person"),
        gettext_lazy(
            "Everything about one email address anonymised or deleted, after a "
            "preview, with a report."
        ),
    ),
]


def privacy_view(view: View) -> View:
    """An agent view for holders of ``handle_personal_data`` only."""

    @agent_view
    @functools.wraps(view)
    def wrapped(request: AgentRequest, *args: Any, **kwargs: Any) -> Any:
        privacy_rights.require(request.user, privacy_rights.HANDLE_PERSONAL_DATA)
        return view(request, *args, **kwargs)

    return wrapped


def _page(
    request: AgentRequest, template: str, section: str, **context: Any
) -> HttpResponse:
    return render(
        request,
        f"helpline/privacy/{template}",
        {"sections": SECTIONS, "active": section, **context},
    )


@privacy_view
def home(request: AgentRequest) -> HttpResponse:
    return _page(request, "home.html", "")


@privacy_view
def retention_view(request: AgentRequest) -> HttpResponse:
    agent = request.user
    if request.method == "POST":
        run = privacy_runs.request_run(agent, PrivacyRunKind.RETENTION)
        enqueue_privacy_run(run.pk)
        return redirect("privacy-run", run.pk)
    return _page(
        request,
        "retention.html",
        "privacy-retention",
        queues=retention.preview_retention(agent),
        runs=privacy_runs.runs_for(agent, PrivacyRunKind.RETENTION),
    )


class ErasureForm(forms.Form):
    address = forms.EmailField(label=gettext_lazy("Email address of the person"))
    delete = forms.BooleanField(
        required=False,
        label=gettext_lazy("Delete their tickets instead of anonymising them"),
    )


@privacy_view
def erasure_view(request: AgentRequest) -> HttpResponse:
    agent = request.user
    form = ErasureForm(request.POST if request.method == "POST" else None)
    preview, previewed = None, ""
    if request.method == "POST" and form.is_valid():
        address, delete = form.cleaned_data["address"], form.cleaned_data["delete"]
        previewed = _previewed(address, delete)
        # Confirmed only what the preview showed: another address (or the other
        # choice) typed after it is previewed first.
        if "confirm" in request.POST and request.POST.get("previewed") == previewed:
            run = erasure.request_erasure(agent, address, delete=delete)
            enqueue_privacy_run(run.pk)
            return redirect("privacy-run", run.pk)
        preview = erasure.preview_erasure(agent, address, delete=delete).summary()
    return _page(
        request,
        "erasure.html",
        "privacy-erasure",
        form=form,
        preview=preview,
        previewed=previewed,
        runs=privacy_runs.runs_for(agent, PrivacyRunKind.ERASURE),
    )


def _previewed(address: str, delete: bool) -> str:
    """What a confirmation must carry: that the preview was of these values."""
    return hashlib.sha256(f"{address.strip().lower()}|{delete}".encode()).hexdigest()


@privacy_view
def run_view(request: AgentRequest, run_id: int) -> HttpResponse:
    run = privacy_runs.get_run(request.user, run_id)
    sections: dict[str, str] = {
        PrivacyRunKind.RETENTION: "privacy-retention",
        PrivacyRunKind.ERASURE: "privacy-erasure",
    }
    section = sections.get(run.kind, "")
    going = run.status in (PrivacyRunStatus.PENDING, PrivacyRunStatus.RUNNING)
    response = _page(request, "run.html", section, run=run, going=going)
    if going:  # the page looks again until the run is over (no script needed)
        response["Refresh"] = str(RUN_REFRESH_SECONDS)
    return response


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (kept in the ticket's history)"),
        max_length=legal_hold.MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@agent_view
def legal_hold_view(request: AgentRequest, number: str) -> HttpResponse:
    """Put the ticket under legal hold, or release it when it is held."""
    agent = request.user
    ticket = access_ticket(agent, number=number)
    privacy_rights.require(agent, privacy_rights.HANDLE_PERSONAL_DATA)
    release = ticket.legal_hold
    change = legal_hold.release_legal_hold if release else legal_hold.set_legal_hold
    return action_screen(
        request,
        ticket,
        form=ReasonForm(request.POST or None),
        title=_("Release the legal hold") if release else _("Put under legal hold"),
        submit=_("Release") if release else _("Hold"),
        perform=lambda d: change(agent, ticket.pk, reason=d["reason"]),
        success=(
            _("The legal hold is released.")
            if release
            else _("The ticket is under legal hold: nothing removes it.")
        ),
    )
