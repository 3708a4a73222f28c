"""The permission grid: every agent and role against every group and permission, on
one page, saved through ``grant_as`` / ``revoke_as``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin  # noqa: F401  (registered first)
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from helpline.actions import admin as admin_actions
from helpline.admin.base import (
    actor_of,
    report_withdrawn,
)
from helpline.models import (
    Grant,
    Group,
    Permission,
    Role,
)

GRID_PERMS = [p.value for p in Permission]


def permission_grid(request: HttpRequest) -> HttpResponse:
    """Agents and roles down, groups x permissions across, all editable at once."""
    groups = list(Group.objects.filter(valid=True).order_by("name"))
    agents = list(get_user_model().objects.filter(is_active=True).order_by("username"))
    roles = list(Role.objects.filter(valid=True).order_by("name"))
    held = {
        (f"a{g.agent_id}" if g.agent_id else f"r{g.role_id}", g.group_id, g.permission)
        for g in Grant.objects.all()
    }
    may_change = request.user.has_perms(["helpline.add_grant", "helpline.delete_grant"])
    if not may_change:
        # Staff without the right to change grants (e.g. holders of
        # handle_unrouted_mail only) must not grant themselves a queue here.
        raise PermissionDenied
    if request.method == "POST":
        wanted = set(request.POST.getlist("grant"))
        add: list[admin_actions.GrantChange] = []
        remove: list[admin_actions.GrantChange] = []
        for subject_key, subject in [(f"a{a.pk}", a) for a in agents] + [
            (f"r{r.pk}", r) for r in roles
        ]:
            agent = None if isinstance(subject, Role) else subject
            role = subject if isinstance(subject, Role) else None
            for group in groups:
                for perm in GRID_PERMS:
                    key = f"{subject_key}:{group.pk}:{perm}"
                    has = (subject_key, group.pk, perm) in held
                    if (key in wanted) != has:
                        change = admin_actions.GrantChange(
                            group, perm, agent=agent, role=role
                        )
                        (add if not has else remove).append(change)
        result = admin_actions.change_grants(actor_of(request), add=add, remove=remove)
        messages.success(request, f"Permissions saved ({result.changed} change(s)).")
        report_withdrawn(request, result.withdrawn)
        return HttpResponseRedirect(request.path)
    rows = [(f"a{a.pk}", f"{a.username}", "agent") for a in agents] + [
        (f"r{r.pk}", r.name, "role") for r in roles
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Permission grid",
        "groups": groups,
        "perms": GRID_PERMS,
        "rows": [
            {
                "key": key,
                "label": label,
                "kind": kind,
                "cells": [
                    {
                        "name": f"{key}:{g.pk}:{p}",
                        "checked": (key, g.pk, p) in held,
                        "title": f"{label}: {p} on {g.name}",
                    }
                    for g in groups
                    for p in GRID_PERMS
                ],
            }
            for key, label, kind in rows
        ],
    }
    return TemplateResponse(request, "admin/helpline/permission_grid.html", context)


_original_get_urls = admin.site.get_urls


def _get_urls() -> list[Any]:
    return [
        path(
            "helpline/permissions/",
            admin.site.admin_view(permission_grid),
            name="helpline_permission_grid",
        ),
        *_original_get_urls(),
    ]


admin.site.get_urls = _get_urls  # type: ignore[method-assign]
