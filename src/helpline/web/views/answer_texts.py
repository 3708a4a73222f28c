"""Salutations, signatures, auto-responses and new templates in the administration
area (docs/administration.md "Answer texts"); ``helpline.actions.answer_texts``
checks who may and saves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline.actions import answer_texts as at
from helpline.errors import HelplineError, InvalidInput, NotFound
from helpline.models import AutoResponse, Salutation, Signature
from helpline.responses.render import PLACEHOLDERS
from helpline.web.admin_forms import AutoResponseForm, TemplateForm, TextForm
from helpline.web.views.decorators import AgentRequest, agent_view


@dataclass(frozen=True)
class Kind:
    model: at.TextModel
    title: Promise
    one: Promise
    explain: Promise


KINDS = {
    "salutations": Kind(
        Salutation,
        gettext_lazy("Salutations"),
        gettext_lazy("Salutation"),
        gettext_lazy("Put at the top of an answer from the queues that use it."),
    ),
    "signatures": Kind(
        Signature,
        gettext_lazy("Signatures"),
        gettext_lazy("Signature"),
        gettext_lazy("Put at the end of an answer from the queues that use it."),
    ),
    "auto-responses": Kind(
        AutoResponse,
        gettext_lazy("Auto-responses"),
        gettext_lazy("Auto-response"),
        gettext_lazy("Sent by Helpline itself when mail arrives in their queues."),
    ),
}


def _kind(kind: str) -> Kind:
    found = KINDS.get(kind)
    if found is None:
        raise NotFound("No such kind of text.")
    return found


def placeholders() -> list[tuple[str, str]]:
    """The placeholders a text may use, for the page."""
    return [
        (f"{{{{ {name} }}}}", str(help)) for name, (help, _get) in PLACEHOLDERS.items()
    ]


@agent_view
def texts(request: AgentRequest, kind: str) -> HttpResponse:
    k = _kind(kind)
    query = request.GET.get("q", "").strip()
    rows = at.list_texts(request.user, k.model, query=query)
    return render(
        request,
        "helpline/administration/texts.html",
        {"kind": kind, "k": k, "rows": rows, "query": query},
    )


def _form_for(kind: str, data: Any = None, initial: Any = None) -> Any:
    form_class = AutoResponseForm if kind == "auto-responses" else TextForm
    return form_class(data, initial=initial)


@agent_view
def text_edit(request: AgentRequest, kind: str, pk: int | None = None) -> HttpResponse:
    k = _kind(kind)
    obj = at.get_text_for(request.user, k.model, pk) if pk is not None else None
    at.require_text_admin(request.user)
    status = 200
    if request.method == "POST":
        form = _form_for(kind, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                at.save_text(
                    request.user,
                    k.model,
                    pk,
                    name=data["name"],
                    text=data["text"],
                    valid=data["valid"],
                    subject=data.get("subject", ""),
                    type=data.get("type", ""),
                    queues=data.get("queues"),
                )
            except HelplineError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("admin-texts", args=[kind]))
        status = 400
    elif request.method == "GET":
        initial: dict[str, Any] = {"valid": True}
        if obj is not None:
            initial = {"name": obj.name, "text": obj.text, "valid": obj.valid}
            if isinstance(obj, AutoResponse):
                initial.update(
                    subject=obj.subject, type=obj.type, queues=list(obj.queues.all())
                )
        form = _form_for(kind, initial=initial)
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "helpline/administration/text.html",
        {
            "kind": kind,
            "k": k,
            "obj": obj,
            "form": form,
            "placeholders": placeholders(),
        },
        status=status,
    )


@agent_view
def template_new(request: AgentRequest) -> HttpResponse:
    at.require_template_admin(request.user)
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if save_template(request, form, None):
            messages.success(request, _("Template saved."))
            return HttpResponseRedirect(reverse("admin-templates"))
        status = 400
    elif request.method == "GET":
        form = TemplateForm(initial={"valid": True, "type": "answer"})
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "helpline/administration/template_full.html",
        {"form": form, "template": None, "placeholders": placeholders()},
        status=status,
    )


def save_template(request: AgentRequest, form: TemplateForm, pk: int | None) -> bool:
    """Save a template from the full form; False, with the errors on the form, if
    the input was refused."""
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        at.save_template(
            request.user,
            pk,
            name=data["name"],
            type=data["type"],
            subject=data["subject"],
            text=data["text"],
            valid=data["valid"],
            queues=data["queues"],
            comment=data["comment"],
        )
    except HelplineError as exc:
        form.add_error(None, exc.message)
        return False
    return True


@agent_view
def template_attachment_add(request: AgentRequest, template_id: int) -> HttpResponse:
    at.require_template_admin(request.user)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput(_("Choose a file."))
    at.add_template_attachment(
        request.user,
        template_id,
        filename=upload.name or "",
        content_type=upload.content_type or "",
        content=upload.read(),
    )
    messages.success(request, _("Attachment added."))
    return HttpResponseRedirect(reverse("admin-template", args=[template_id]))


@agent_view
def template_attachment_remove(
    request: AgentRequest, template_id: int, attachment_id: int
) -> HttpResponse:
    at.require_template_admin(request.user)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    at.remove_template_attachment(request.user, template_id, attachment_id)
    messages.success(request, _("Attachment removed."))
    return HttpResponseRedirect(reverse("admin-template", args=[template_id]))
