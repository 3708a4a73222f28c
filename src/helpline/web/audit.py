"""Every request is a read-audit scope (helpline.actions.read_audit).

The reads a view records are written in one statement after the view has produced
its response and before the response leaves: when they cannot be written, the client
gets a 503 instead of the content.  The channel is the entry point the path belongs
to (``/api/`` the REST API, ``/admin/`` the administration site, the agent interface
otherwise); the client is its address and a short user agent.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from helpline.actions import read_audit
from helpline.api.errors import error_body
from helpline.models import ReadChannel
from helpline.web.throttle import client_ip

USER_AGENT_CHARS = 200


def channel_of(path: str) -> str:
    if path.startswith("/api/"):
        return ReadChannel.API
    if path.startswith("/admin/"):
        return ReadChannel.ADMIN
    return ReadChannel.WEB


def client_of(request: HttpRequest) -> str:
    agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_CHARS]
    return f"{client_ip(request)} {agent}".strip()


def unavailable(request: HttpRequest, message: str) -> HttpResponse:
    """503 with the project's error answer: JSON under the API, a page elsewhere."""
    if channel_of(request.path) == ReadChannel.API:
        response: HttpResponse = JsonResponse(
            error_body(read_audit.ReadAuditUnavailable.code, message), status=503
        )
    else:
        html = loader.render_to_string(
            "helpline/errors/503.html", {"status": 503, "message": message}
        )
        response = HttpResponse(html, status=503)
    response.headers["Retry-After"] = "30"
    return response


class ReadAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            with read_audit.reading(channel_of(request.path), client_of(request)):
                response = self.get_response(request)
        except read_audit.ReadAuditUnavailable as exc:
            return unavailable(request, exc.message)
        return response
