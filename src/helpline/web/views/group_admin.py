"""Groups and roles in the administration area (docs/administration.md "Groups and
roles"): the lists, one page per group and per role (a role's page also adds and
removes members).  Every change is made by ``helpline.actions.group_admin``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpline.actions import group_admin as ga
from helpline.actions import permission_admin as pa
from helpline.actions.withdrawal import Withdrawn
from helpline.errors import HelplineError, InvalidInput
from helpline.web.views.decorators import AgentRequest, agent_view


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


def _report(request: AgentRequest, withdrawn: list[Withdrawn]) -> None:
    lost = len({item.ticket_id for item in withdrawn})
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


def _list(request: AgentRequest, lister: Any, template: str) -> HttpResponse:
    pa.require_permission_admin(request.user)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    query = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"query": query, "page": None}
    status = 200
    try:
        page = lister(request.user, query=query, page=_int(request.GET.get("page"), 1))
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
    return render(request, template, context, status=status)


@agent_view
def groups(request: AgentRequest) -> HttpResponse:
    return _list(request, ga.list_groups, "helpline/administration/groups.html")


@agent_view
def roles(request: AgentRequest) -> HttpResponse:
    return _list(request, ga.list_roles, "helpline/administration/roles.html")


def _edit(
    request: AgentRequest,
    name: str,
    obj: Any,
    create: Any,
    save: Any,
    extra: dict[str, Any],
) -> HttpResponse:
    """The form of a group or a role: name, comment, switched on."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    pa.require_permission_admin(request.user)
    values: dict[str, Any] = {
        "name": obj.name if obj else "",
        "comment": obj.comment if obj else "",
        "valid": obj.valid if obj else True,
    }
    error, status = "", 200
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", ""),
            "comment": request.POST.get("comment", ""),
            "valid": request.POST.get("valid") == "on" if obj else True,
        }
        try:
            if obj is None:
                obj = create(
                    request.user, name=values["name"], comment=values["comment"]
                )
            else:
                _report(request, save(request.user, obj.pk, **values))
        except HelplineError as exc:
            error, status = exc.message, exc.http_status
            if obj is not None:
                obj.refresh_from_db()
        else:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(reverse(f"admin-{name}", args=[obj.pk]))
    return render(
        request,
        f"helpline/administration/{name.replace('-', '_')}.html",
        {"obj": obj, "values": values, "error": error, **extra},
        status=status,
    )


@agent_view
def group_page(request: AgentRequest, group_id: int | None = None) -> HttpResponse:
    group = ga.get_group_for(request.user, group_id) if group_id is not None else None
    return _edit(request, "group-edit", group, ga.create_group_for, ga.save_group, {})


@agent_view
def role_page(request: AgentRequest, role_id: int | None = None) -> HttpResponse:
    role = ga.get_role_for(request.user, role_id) if role_id is not None else None
    extra: dict[str, Any] = {"login": "", "member_error": ""}
    if role is not None:
        extra.update(
            members=ga.role_members(request.user, role),
            grants=ga.role_grants(request.user, role),
        )
    return _edit(request, "role", role, ga.create_role_for, ga.save_role, extra)


@agent_view
def role_members(request: AgentRequest, role_id: int) -> HttpResponse:
    """Add a member (by login) or remove one (``remove`` = the agent's id)."""
    role = ga.get_role_for(request.user, role_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    login = request.POST.get("login", "")
    try:
        if "remove" in request.POST:
            _report(
                request,
                ga.remove_member(
                    request.user, role.pk, _int(request.POST.get("remove"), 0)
                ),
            )
            messages.success(request, _("Member removed."))
        else:
            ga.add_member(request.user, role.pk, login)
            messages.success(request, _("Member added."))
    except HelplineError as exc:
        return render(
            request,
            "helpline/administration/role.html",
            {
                "obj": role,
                "values": {
                    "name": role.name,
                    "comment": role.comment,
                    "valid": role.valid,
                },
                "error": "",
                "login": login,
                "member_error": exc.message,
                "members": ga.role_members(request.user, role),
                "grants": ga.role_grants(request.user, role),
            },
            status=exc.http_status,
        )
    return HttpResponseRedirect(reverse("admin-role", args=[role.pk]) + "#members")
