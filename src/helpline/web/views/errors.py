"""Error pages for DEBUG=False: plain templates, no traceback, no ticket content.

Rendered without the request's context processors, so that an error page cannot fail
for the reason the request did (a database that went away, say).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader


def _page(status: int) -> HttpResponse:
    html = loader.render_to_string(f"helpline/errors/{status}.html", {"status": status})
    return HttpResponse(html, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(500)
