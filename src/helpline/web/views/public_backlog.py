"""The public backlog page (docs/reports.md): for the queues that opted in, the
count of open tickets by age; no login, no content, no names but the queue's.
Cached for everyone alike, and each client's requests are counted in the shared
counters (``helpline.counters``) like failed logins are."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from helpline import counters
from helpline.actions.reports import (
    PUBLIC_CACHE_SECONDS,
    age_labels,
    cached_public_backlog,
)
from helpline.web.middleware import allow_caching
from helpline.web.throttle import client_address

WINDOW = 60


@require_safe
def backlog_page(request: HttpRequest) -> HttpResponse:
    limit = settings.HELPLINE_PUBLIC_BACKLOG_PER_MINUTE
    key = f"public-backlog:{client_address(request)}"
    if counters.hit(key, window=WINDOW) > limit:
        response = HttpResponse(
            _("Too many requests; try again in a minute."),
            status=429,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(WINDOW)
        return response
    rows = cached_public_backlog()
    response = render(
        request,
        "helpline/public_backlog.html",
        {"rows": rows, "age_labels": age_labels()},
    )
    response["Cache-Control"] = f"public, max-age={PUBLIC_CACHE_SECONDS}"
    return allow_caching(response)
