"""Postmaster filters as a form for site administrators (docs/administration.md,
"Postmaster filters"): rows of conditions (header, how it compares, value) and a
field per thing a filter sets.  ``mail.filter_admin`` reads and writes the JSON the
engine runs, losslessly; this only reads the posted rows and renders.

Without JavaScript, "Add a condition" posts the form back with one more empty row
(nothing is saved); the page always offers at least one empty row.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from helpline.actions import mail_admin
from helpline.errors import HelplineError
from helpline.mail import filter_admin as fa
from helpline.models import Priority, Queue, TicketState
from helpline.web.views.decorators import AgentRequest, agent_view

MAX_ROWS = 50
# Headers offered in the header field's list (any header may be typed).
COMMON_HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Reply-To",
    "Return-Path",
    "List-Id",
    "X-Spam-Flag",
    "X-Spam-Status",
    "Auto-Submitted",
    "Precedence",
    "X-Mailer",
)


def _summary(texts: dict[str, str]) -> list[tuple[str, str]]:
    return [(str(fa.LABELS[key]), text) for key, text in texts.items() if text]


@agent_view
def filters(request: AgentRequest) -> HttpResponse:
    found = fa.list_filters(request.user)
    return render(
        request,
        "helpline/administration/filters.html",
        {"rows": [(f, fa.conditions_of(f), _summary(fa.texts_of(f))) for f in found]},
    )


def _rows(request: AgentRequest) -> list[fa.Condition]:
    post = request.POST
    given = post.get("rows", "")
    count = min(int(given), MAX_ROWS) if given.isdigit() else 0
    rows = []
    for i in range(count):
        index = post.get(f"c{i}-index", "")
        rows.append(
            fa.Condition(
                header=post.get(f"c{i}-header", "").strip(),
                kind=post.get(f"c{i}-kind", "contains"),
                value=post.get(f"c{i}-value", ""),
                index=int(index) if index.isdigit() else None,
                remove=post.get(f"c{i}-remove") == "on",
            )
        )
    return rows


def _form(request: AgentRequest) -> fa.FilterForm:
    post = request.POST
    try:
        order = int(post.get("order", "0") or 0)
    except ValueError:
        order = 0
    return fa.FilterForm(
        name=post.get("name", ""),
        order=order,
        rows=_rows(request),
        texts={key: post.get(f"set-{key}", "") for key in fa.SETTABLE},
        stop=post.get("stop") == "on",
        valid=post.get("valid") == "on",
        comment=post.get("comment", ""),
    )


def _priorities(current: str) -> list[tuple[str, str]]:
    """The priorities to choose from, and a stored one outside them (kept as is)."""
    choices = [(str(value), str(label)) for value, label in Priority.choices]
    if current and current not in {value for value, _label in choices}:
        choices.append((current, current))
    return choices


@agent_view
def filter_edit(request: AgentRequest, filter_id: int | None = None) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    mail_admin.require_site_admin(request.user, "postmasterfilter")
    flt = fa.get_filter(request.user, filter_id) if filter_id is not None else None
    if flt is not None:
        form = fa.FilterForm(
            name=flt.name,
            order=flt.order,
            rows=fa.conditions_of(flt),
            texts=fa.texts_of(flt),
            stop=flt.stop,
            valid=flt.valid,
            comment=flt.comment,
        )
    else:
        form = fa.FilterForm(name="", order=0, rows=[], texts=fa.texts_of(None))
    error, status = "", 200
    if request.method == "POST":
        form = _form(request)
        if "more" in request.POST:
            form.rows.append(fa.Condition())
        else:
            try:
                fa.save_filter(request.user, flt, form)
            except HelplineError as exc:
                error, status = exc.message, exc.http_status
            else:
                messages.success(request, _("Filter saved."))
                return HttpResponseRedirect(reverse("admin-filters"))
    if not any(row.blank for row in form.rows) and len(form.rows) < MAX_ROWS:
        form.rows.append(fa.Condition())
    return render(
        request,
        "helpline/administration/filter.html",
        {
            "filter": flt,
            "form": form,
            "kinds": [(kind, label) for kind, label, _negated in fa.KINDS],
            "headers": COMMON_HEADERS,
            "queues": Queue.objects.filter(valid=True)
            .order_by("name")
            .values_list("name", flat=True),
            "states": TicketState.objects.filter(valid=True)
            .order_by("name")
            .values_list("name", flat=True),
            "priorities": _priorities(form.texts.get("priority", "")),
            "booleans": [
                (key, fa.LABELS[key], form.texts.get(key, "")) for key in fa.BOOLEANS
            ],
            "yes_no": [("", "–"), ("yes", _("yes")), ("no", _("no"))],
            "error": error,
        },
        status=status,
    )
