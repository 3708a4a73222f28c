"""``/healthz``, ``/readyz`` and ``/metrics``, answered by the first middleware.

They run before sessions, authentication, CSRF and host checks, so a probe costs no
session look-up and works with any Host header (a load balancer probing by address).
``/metrics`` answers only clients in ``HELPLINE_METRICS_ALLOWED_NETWORKS`` or with
``Authorization: Bearer <HELPLINE_METRICS_TOKEN>``.

For every other request this middleware gives the request an id (its own, or a
trusted proxy's X-Request-ID when ``HELPLINE_TRUST_REQUEST_ID`` is on), returns it as
X-Request-ID and counts the request and its duration per view.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from helpline.monitoring import metrics, readiness, requestid

log = logging.getLogger(__name__)
# One line per answered request (not the probes), with its id: the access log.
access_log = logging.getLogger("helpline.requests")
HEADER = "X-Request-ID"
UNRESOLVED = "unresolved"  # a URL that matched no view (404)
# Headers a reverse proxy adds (deploy/nginx-helpline.conf sets X-Forwarded-For).
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@cache
def _networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in spec)


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.HELPLINE_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(
            given[len("Bearer ") :].strip().encode(), token.encode()
        ):
            return True
    if any(header in request.META for header in PROXY_HEADERS):
        # Through a reverse proxy on this host every client's address is the proxy's
        # (loopback): the network rule would open /metrics to the whole internet.
        # Requests a proxy forwarded need the token; scrapers connect directly.
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in network
        for network in _networks(tuple(settings.HELPLINE_METRICS_ALLOWED_NETWORKS))
    )


def _plain(text: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(
        text, status=status, content_type="text/plain; charset=utf-8"
    )
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    return _plain("ok\n")


def readyz(request: HttpRequest) -> HttpResponse:
    ready = readiness.check_all()
    body = ready.as_dict()
    if not ready.ok:
        body["reason"] = "; ".join(ready.reasons())
    response = HttpResponse(
        json.dumps(body) + "\n",
        status=200 if ready.ok else 503,
        content_type="application/json",
    )
    response["Cache-Control"] = "no-store"
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return _plain("metrics are not available to this client\n", status=403)
    try:
        body = metrics.render()
    except Exception:
        log.exception("collecting metrics failed")
        return _plain("collecting metrics failed; see the server log\n", status=503)
    response = HttpResponse(
        body, content_type="text/plain; version=0.0.4; charset=utf-8"
    )
    response["Cache-Control"] = "no-store"
    return response


ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics_view,
}


class MonitoringMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        endpoint = ENDPOINTS.get(request.path_info.rstrip("/") or "/")
        if endpoint is not None:
            response = endpoint(request)
            seconds = time.perf_counter() - start
            metrics.count_request(
                request.path_info.strip("/"),
                request.method or "",
                response.status_code,
                seconds,
            )
            return response
        given = request.headers.get(HEADER) or ""
        trusted = settings.HELPLINE_TRUST_REQUEST_ID and requestid.acceptable(given)
        rid = given if trusted else requestid.new_id()
        request.request_id = rid  # type: ignore[attr-defined]
        token = requestid.activate(rid)
        try:
            response = self.get_response(request)
        finally:
            requestid.deactivate(token)
        response[HEADER] = rid
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else None) or UNRESOLVED
        seconds = time.perf_counter() - start
        metrics.count_request(view, request.method or "", response.status_code, seconds)
        access_log.info(
            "%s %s %s %.1f ms",
            request.method,
            request.path,
            response.status_code,
            seconds * 1000,
            extra={
                "request_id": rid,
                "view": view,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response
