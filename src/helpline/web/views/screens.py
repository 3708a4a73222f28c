"""The shape every small ticket action shares: a form, an action, back to the zoom."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _

from helpline.actions.articles import NewAttachment
from helpline.errors import HelplineError, InvalidInput
from helpline.models import Ticket
from helpline.web.views.decorators import is_htmx


def zoom_url(ticket: Ticket) -> str:
    return reverse("zoom", args=[ticket.number])


def action_screen(
    request: HttpRequest,
    ticket: Ticket | None,
    *,
    form: forms.Form,
    title: str,
    submit: str,
    perform: Callable[[dict[str, Any]], Any],
    success: str,
    partial: str = "helpline/partials/action_form.html",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """GET shows ``form``; a valid POST calls ``perform(cleaned_data)``.

    If ``perform`` returns a string, it is the URL (or URL name) to go to; otherwise
    the agent returns to the ticket's zoom.  A domain error is shown above the form
    with the error's status; the form keeps what was typed.
    """
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            target = perform(form.cleaned_data)
        except HelplineError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            messages.success(request, success)
            if not isinstance(target, str):
                assert ticket is not None, "screens without a ticket return a URL"
                target = zoom_url(ticket)
            return redirect(target)
    context = {
        "partial": partial,
        "ticket": ticket,
        "form": form,
        "title": title,
        "submit": submit,
        "multipart": form.is_multipart() or bool(extra and extra.get("uploads")),
        **(extra or {}),
    }
    # htmx loads the form alone into the zoom's dialog; otherwise a whole page.
    alone = is_htmx(request) and request.method == "GET"
    name = partial if alone else "helpline/action.html"
    return render(request, name, context, status=status)


def uploaded_files(request: HttpRequest) -> list[NewAttachment]:
    """The files of the ``attachments`` input, as the actions take them."""
    files = request.FILES.getlist("attachments")
    total = sum(f.size or 0 for f in files)
    if total > settings.HELPLINE_MAX_MESSAGE_BYTES:
        raise InvalidInput(
            _("The attachments are %(size)s; at most %(limit)s can be sent.")
            % {
                "size": filesizeformat(total),
                "limit": filesizeformat(settings.HELPLINE_MAX_MESSAGE_BYTES),
            }
        )
    return [
        NewAttachment(
            filename=f.name or "attachment",
            content_type=f.content_type or "application/octet-stream",
            content=f.read(),
        )
        for f in files
    ]
