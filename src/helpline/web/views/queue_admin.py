"""Queues in the administration area (docs/administration.md "Queues"): the list,
one page per queue that shows and edits everything about it, and a new queue.
Every change is made by ``helpline.actions.queue_admin``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from helpline.actions import permission_admin as pa
from helpline.actions import privacy_rights
from helpline.actions import queue_admin as qa
from helpline.actions import queue_templates as qt
from helpline.errors import HelplineError, InvalidInput
from helpline.web.admin_forms import NewQueueForm, QueueForm, queue_initial
from helpline.web.views.decorators import AgentRequest, agent_view


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


@agent_view
def index(request: AgentRequest) -> HttpResponse:
    """The administration area: every screen the agent may use."""
    user = request.user
    if not pa.may_administer(user) and not qt.is_template_admin(user):
        pa.require_permission_admin(user)
    return render(
        request,
        "helpline/administration/index.html",
        {
            "is_admin": pa.is_permission_admin(user),
            "may_manage_agents": user.has_perm("auth.change_user")
            and pa.is_permission_admin(user),
            "may_edit_templates": qt.is_template_admin(user)
            or qt.editable_templates(user).exists(),
        },
    )


@agent_view
def queues(request: AgentRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"query": query, "page": None}
    status = 200
    try:
        page = qa.list_queues(
            request.user, query=query, page=_int(request.GET.get("page"), 1)
        )
    except InvalidInput as exc:
        context["error"], status = exc.message, 400
    else:
        base = {"q": query} if query else {}
        context.update(
            page=page,
            prev_query=urlencode({**base, "page": page.number - 1})
            if page.number > 1
            else "",
            next_query=urlencode({**base, "page": page.number + 1})
            if page.number < page.pages
            else "",
        )
    return render(
        request, "helpline/administration/queues.html", context, status=status
    )


@agent_view
def queue_new(request: AgentRequest) -> HttpResponse:
    qa.require_queue_admin(request.user)
    may_retain = privacy_rights.may_handle_personal_data(request.user)
    status = 200
    if request.method == "POST":
        form = NewQueueForm(request.POST, queue=None, may_set_retention=may_retain)
        if form.is_valid():
            try:
                queue = qa.create_queue_for(
                    request.user,
                    form.values(),
                    give_creator_rw=form.cleaned_data["give_me_rw"],
                    service_level=form.cleaned_data["service_level"],
                )
            except HelplineError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Queue created."))
                return HttpResponseRedirect(reverse("admin-queue", args=[queue.pk]))
        status = 400
    elif request.method == "GET":
        form = NewQueueForm(queue=None, may_set_retention=may_retain)
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "helpline/administration/queue_new.html",
        {"form": form},
        status=status,
    )


@agent_view
def queue_page(request: AgentRequest, queue_id: int) -> HttpResponse:
    queue = qa.get_queue_for(request.user, queue_id)
    may_retain = privacy_rights.may_handle_personal_data(request.user)
    status = 200
    if request.method == "POST":
        form = QueueForm(request.POST, queue=queue, may_set_retention=may_retain)
        if form.is_valid():
            try:
                qa.save_queue_settings(
                    request.user,
                    queue.pk,
                    form.values(),
                    service_level=form.cleaned_data["service_level"],
                    set_service_level=True,
                )
            except HelplineError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Queue saved."))
                return HttpResponseRedirect(reverse("admin-queue", args=[queue.pk]))
        status = 400
        queue = qa.get_queue_for(request.user, queue_id)  # as stored, for the rest
    elif request.method == "GET":
        form = QueueForm(
            initial=queue_initial(queue), queue=queue, may_set_retention=may_retain
        )
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "helpline/administration/queue.html",
        {
            "queue": queue,
            "form": form,
            "templates": list(queue.templates.order_by("name")),
            "auto_responses": list(queue.auto_responses.order_by("name")),
            "addresses": list(queue.addresses.order_by("email")),
            "reach": qa.queue_reach(request.user, queue),
            "may_edit_templates": qt.is_template_admin(request.user),
        },
        status=status,
    )
