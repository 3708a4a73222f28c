"""Security headers for every response: the Content Security Policy, and no caching.

The agent interface runs no inline script and loads nothing from elsewhere, so the
policy can be strict.  A view that needs another policy (the sandboxed e-mail HTML,
downloads) sets its own header, which is then left alone.  The administration screens
(Django's admin and its customisations) use inline ``style`` attributes, so under
``/admin/`` inline styles are allowed; scripts never are.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

BASE_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'"
)
ADMIN_POLICY = BASE_POLICY + "; style-src 'self' 'unsafe-inline'"
# The HTML part of an e-mail, shown in a sandboxed frame of the zoom.  Its images are
# embedded (data:) or the message's own parts, served from this site; nothing remote.
EMAIL_HTML_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
# A file sent for download: nothing in it may run if a browser opens it anyway.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            admin = request.path.startswith("/admin/")
            response.headers["Content-Security-Policy"] = (
                ADMIN_POLICY if admin else BASE_POLICY
            )
        return response


NO_STORE = "no-store, private"


def allow_caching(response: HttpResponse) -> HttpResponse:
    """Let ``response`` keep its own Cache-Control (only for content that is neither
    ticket content nor personal data)."""
    response.helpline_cacheable = True  # type: ignore[attr-defined]
    return response


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every response Django produces.

    Pages, search results, attachments, raw mail, API answers and the administration
    carry ticket content or personal data: neither the browser (its disk cache, the
    back button on a shared computer) nor a proxy may keep them.  Deciding per
    response which ones do would fail open the day a view forgets, so every response
    is marked unless its view opts out with ``allow_caching``.  Static files are
    served before Django (helpline.web.static_files) and stay cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(response, "helpline_cacheable", False):
            response.headers["Cache-Control"] = NO_STORE
            response.headers.pop("Expires", None)
        return response
