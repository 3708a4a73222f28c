"""Permissions at scale, in the agent interface (docs/administration.md): a group's
holders, an agent's permissions and why, and many grants saved in one go.

The pages post only what changed, as one field of compact tokens (``+a12:3:rw``;
``permissions.js`` writes it), never a field per checkbox; every check and the
administration log are in ``helpline.actions.permission_admin``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpline.actions import agent_admin
from helpline.actions import permission_admin as pa
from helpline.actions import queue_templates as qt
from helpline.errors import InvalidInput
from helpline.models import Group, Template
from helpline.responses.render import check_text
from helpline.web.admin_forms import TemplateForm
from helpline.web.views import answer_texts
from helpline.web.views.decorators import AgentRequest, agent_view

AGENTS_PER_PAGE = 50


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


def _save(request: AgentRequest) -> HttpResponse:
    """Apply the posted ``changes`` and come back to the same page and filter."""
    changes = pa.parse_changes(request.POST.get("changes", ""))
    applied = pa.bulk_change_grants(request.user, changes)
    messages.success(
        request,
        ngettext(
            "Permissions saved (%(n)d change).",
            "Permissions saved (%(n)d changes).",
            applied.changed,
        )
        % {"n": applied.changed},
    )
    lost = len({w.ticket_id for w in applied.withdrawn})
    if lost:
        messages.warning(
            request,
            ngettext(
                "%(n)d ticket was taken from agents who may no longer read it.",
                "%(n)d tickets were taken from agents who may no longer read them.",
                lost,
            )
            % {"n": lost},
        )
    return HttpResponseRedirect(request.get_full_path())


@agent_view
def index(request: AgentRequest) -> HttpResponse:
    """Administrators: every group and agent; a coordinator: the groups it manages."""
    is_admin = pa.is_permission_admin(request.user)
    if not is_admin and not pa.may_administer(request.user):
        pa.require_permission_admin(request.user)
    query = request.GET.get("q", "").strip()
    groups = Group.objects.order_by("name")
    agents = get_user_model().objects.order_by("username")
    if not is_admin:
        groups = groups.filter(pk__in=pa.managed_group_ids(request.user), valid=True)
        agents = agents.none()
    if query:
        groups = groups.filter(name__icontains=query)
        agents = agents.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
        )
    return render(
        request,
        "helpline/administration/permissions.html",
        {
            "query": query,
            "groups": list(groups[:200]),
            "groups_more": groups.count() > 200,
            "agents": list(agents[:AGENTS_PER_PAGE]),
            "agents_more": agents.count() > AGENTS_PER_PAGE,
            "is_admin": is_admin,
            "may_edit_templates": qt.editable_templates(request.user).exists(),
        },
    )


@agent_view
def group_view(request: AgentRequest, group_id: int) -> HttpResponse:
    group = pa.get_group_for(request.user, group_id)
    if request.method == "POST":
        return _save(request)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    kind = request.GET.get("kind", "agent")
    filters: dict[str, Any] = {
        "kind": kind if kind in ("agent", "role") else "agent",
        "q": request.GET.get("q", "").strip(),
        "perm": request.GET.get("perm", ""),
        "per_page": _int(request.GET.get("per_page"), 50),
    }
    context: dict[str, Any] = {
        "group": group,
        "filters": filters,
        "page": None,
        "is_admin": pa.is_permission_admin(request.user),
    }
    status = 200
    try:
        page = pa.group_holders(
            request.user,
            group,
            kind=filters["kind"],
            query=filters["q"],
            permission=filters["perm"],
            page=_int(request.GET.get("page"), 1),
            per_page=filters["per_page"],
        )
    except InvalidInput as exc:
        context["error"] = exc.message
        status = 400
    else:
        base = {k: v for k, v in filters.items() if v}
        context.update(
            page=page,
            rows=[(row, row.cells()) for row in page.rows],
            prev_query=urlencode({**base, "page": page.number - 1})
            if page.number > 1
            else "",
            next_query=urlencode({**base, "page": page.number + 1})
            if page.number < page.pages
            else "",
        )
    context["perms"] = pa.PERMISSIONS
    context["per_page_choices"] = pa.PER_PAGE_CHOICES
    return render(request, "helpline/administration/group.html", context, status=status)


@agent_view
def agent_page(request: AgentRequest, agent_id: int) -> HttpResponse:
    agent = pa.get_agent_for(request.user, agent_id)
    if request.method == "POST":
        return _save(request)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    query = request.GET.get("q", "").strip()
    result = pa.agent_permissions(request.user, agent, query=query)
    return render(
        request,
        "helpline/administration/agent.html",
        {
            "subject": agent,
            "query": query,
            "result": result,
            "rows": [(row.group, row.holder.cells()) for row in result.rows],
            "perms": pa.PERMISSIONS,
            "activity": agent_admin.last_activity(agent),
            "may_manage_agents": agent_admin.may_manage_agents(request.user),
        },
    )


@agent_view
def templates(request: AgentRequest) -> HttpResponse:
    """The templates the agent may edit (a coordinator: its queues' ones)."""
    if not pa.may_administer(request.user) and not qt.is_template_admin(request.user):
        pa.require_permission_admin(request.user)
    found = qt.editable_templates(request.user).prefetch_related("queues")
    return render(
        request,
        "helpline/administration/templates.html",
        {
            "templates": list(found[:500]),
            "may_create": qt.is_template_admin(request.user),
        },
    )


def _template_full(request: AgentRequest, template: Template) -> HttpResponse:
    """An administrator's template page: everything about the template."""
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if answer_texts.save_template(request, form, template.pk):
            messages.success(request, _("Template saved."))
            return HttpResponseRedirect(reverse("admin-templates"))
        status = 400
    elif request.method == "GET":
        form = TemplateForm(
            initial={
                "name": template.name,
                "type": template.type,
                "subject": template.subject,
                "text": template.text,
                "queues": list(template.queues.all()),
                "comment": template.comment,
                "valid": template.valid,
            }
        )
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "helpline/administration/template_full.html",
        {
            "form": form,
            "template": template,
            "attachments": list(template.attachments.order_by("filename")),
            "placeholders": answer_texts.placeholders(),
        },
        status=status,
    )


@agent_view
def template_edit(request: AgentRequest, template_id: int) -> HttpResponse:
    template = qt.get_template_for(request.user, template_id)
    if qt.is_template_admin(request.user):
        return _template_full(request, template)
    status = 200
    error = ""
    if request.method == "POST":
        subject = request.POST.get("subject", "")
        text = request.POST.get("text", "")
        try:
            check_text(subject)
            check_text(text)
            qt.save_template_text(request.user, template.pk, subject=subject, text=text)
        except InvalidInput as exc:
            error, status = exc.message, 400
            template.subject, template.text = subject, text
        else:
            messages.success(request, _("Template saved."))
            return HttpResponseRedirect(reverse("admin-templates"))
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "helpline/administration/template.html",
        {
            "template": template,
            "error": error,
            "placeholders": answer_texts.placeholders(),
        },
        status=status,
    )
