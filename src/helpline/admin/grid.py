"""The old permission grid, retired: every agent and role against every group and
permission on one page posted a field per checkbox, and past about 1,000 grants
Django refused the save (``TooManyFieldsSent``).  Its address now leads to
``/administration/permissions/`` (docs/administration.md, "Permissions at scale"),
which pages, filters and saves only the changes, whatever the number of grants."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import admin as auth_admin  # noqa: F401  (registered first)
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse


def permission_grid(request: HttpRequest) -> HttpResponse:
    """Bookmarks and old links of the grid go to the permission screen, which
    checks who may change grants itself."""
    return HttpResponseRedirect(reverse("admin-permissions"))


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
