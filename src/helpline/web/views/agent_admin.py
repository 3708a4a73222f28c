"""Agents for administrators (docs/administration.md): the list with last login and
activity (and the inactive-agents report), inviting by email, deactivating and
reactivating, and the invitation link on which the invited agent sets a password."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from helpline.actions import agent_admin, invitations
from helpline.errors import HelplineError, InvalidInput, PermissionDenied
from helpline.models import Group, Permission
from helpline.responses import invitation
from helpline.web.views.decorators import AgentRequest, agent_view, error_page

INVITE_PERMISSIONS = (Permission.RO, Permission.RW)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@agent_view
def agents(request: AgentRequest) -> HttpResponse:
    agent_admin.require_agent_admin(request.user)
    query = request.GET.get("q", "").strip()
    months = _int(request.GET.get("inactive"))
    context: dict[str, Any] = {"query": query, "months": months or "", "page": None}
    status = 200
    try:
        page = agent_admin.list_agents(
            request.user,
            query=query,
            inactive_months=months,
            page=_int(request.GET.get("page")) or 1,
        )
    except InvalidInput as exc:
        context["error"], status = exc.message, 400
    else:
        base = {k: v for k, v in {"q": query, "inactive": months}.items() if v}
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
        request, "helpline/administration/agents.html", context, status=status
    )


@agent_view
def invite(request: AgentRequest) -> HttpResponse:
    if not invitations.may_invite(request.user):
        raise PermissionDenied("Only administrators who may add agents invite them.")
    groups = list(Group.objects.filter(valid=True).order_by("name"))
    values = {
        k: request.POST.get(k, "").strip()
        for k in ("login", "email", "first_name", "last_name")
    }
    status = 200
    error = ""
    if request.method == "POST":
        grants = []
        for group in groups:
            perm = request.POST.get(f"group-{group.pk}", "")
            if perm in INVITE_PERMISSIONS:
                grants.append((group.pk, perm))
        try:
            # The new agent starts in the language the inviting administrator
            # reads (its mail too); it changes it in its preferences.
            agent = invitation.invite(
                request.user, grants=grants, language=_offered(get_language()), **values
            )
        except HelplineError as exc:
            error, status = exc.message, exc.http_status
        else:
            messages.success(
                request,
                _("%(login)s is invited: the mail with the link is on its way.")
                % {"login": agent.get_username()},
            )
            return HttpResponseRedirect(reverse("admin-agents"))
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    chosen = {g.pk: request.POST.get(f"group-{g.pk}", "") for g in groups}
    return render(
        request,
        "helpline/administration/invite.html",
        {
            "values": values,
            "groups": [(g, chosen[g.pk]) for g in groups],
            "permissions": INVITE_PERMISSIONS,
            "error": error,
            "days": invitations.days(),
        },
        status=status,
    )


@agent_view
def set_active(request: AgentRequest, agent_id: int) -> HttpResponse:
    agent_admin.require_agent_admin(request.user)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    active = request.POST.get("active") == "1"
    withdrawn = agent_admin.set_active(request.user, agent_id, active=active)
    messages.success(
        request,
        _("The agent is active again.")
        if active
        else _("The agent is deactivated: its sessions ended."),
    )
    if withdrawn:
        messages.warning(
            request,
            _("%(n)d ticket(s) were taken from the agent.")
            % {"n": len({w.ticket_id for w in withdrawn})},
        )
    return HttpResponseRedirect(reverse("admin-permissions-agent", args=[agent_id]))


def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: choose a password (no login needed; the link is it)."""
    try:
        agent = invitations.agent_for_token(token)
    except HelplineError as exc:
        return error_page(request, exc)
    form = SetPasswordForm(agent, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitations.accept_invitation(token, form.cleaned_data["new_password1"])
        except HelplineError as exc:
            return error_page(request, exc)
        messages.success(request, _("Your password is set: log in with it."))
        return HttpResponseRedirect(reverse("login"))
    return render(
        request,
        "helpline/administration/invitation.html",
        {"form": form, "invited": agent},
        status=400 if request.method == "POST" else 200,
    )


def _offered(language: str | None) -> str | None:
    """``language`` if settings.LANGUAGES has it (else the new agent gets the site's)."""
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else None
