"""The second login step's session state, and the middleware that enforces the
two-factor policies (docs/authentication.md).

After the right password, an agent with a second factor is *not* logged in: the
session only remembers, for ``HELPLINE_TWO_FACTOR_STEP_SECONDS``, whom the password
was right for (``PENDING``).  That grants nothing; only the right code logs in, and
marks the session ``VERIFIED``.

The middleware looks at logged-in sessions that are not ``VERIFIED`` (one query):

- an agent who has a second factor but whose session was opened with the password
  alone (before it enrolled elsewhere) is logged out;
- an agent whom a policy requires to use one and who has none is sent to set it up
  before any other page; a request of the REST API with this session gets 403
  ``two_factor_required``.  Requests with an API token (``Authorization``) are judged
  by the token alone and pass untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from helpline.actions.twofactor import two_factor_state

PENDING = "helpline_2fa_pending"
VERIFIED = "helpline_2fa_verified"
NEW_CODES = "helpline_2fa_new_codes"


@dataclass(frozen=True)
class Pending:
    user: Any
    next_url: str


def begin_second_step(request: HttpRequest, user: Any, next_url: str) -> None:
    """Remember that ``user``'s password was right (a new session key: nothing a
    planted session id could take over)."""
    request.session.cycle_key()
    request.session[PENDING] = {
        "user": user.pk,
        "hash": user.get_session_auth_hash(),
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
        "at": time.time(),
        "next": next_url,
    }


def pending(request: HttpRequest) -> Pending | None:
    """The agent whose password was right in this session, if still in time and
    still valid (active, the same password)."""
    data = request.session.get(PENDING)
    if not isinstance(data, dict):
        return None
    limit = int(getattr(settings, "HELPLINE_TWO_FACTOR_STEP_SECONDS", 300))
    if time.time() - float(data.get("at", 0)) > limit:
        request.session.pop(PENDING, None)
        return None
    user: Any = (
        get_user_model()
        .objects.filter(pk=int(data.get("user") or 0), is_active=True)
        .first()
    )
    if user is None or user.get_session_auth_hash() != data.get("hash"):
        request.session.pop(PENDING, None)
        return None
    user.backend = data.get("backend")
    return Pending(user=user, next_url=str(data.get("next") or reverse("dashboard")))


def complete_login(request: HttpRequest, user: Any) -> None:
    """The second step succeeded: log in (a new session key) and mark the session."""
    request.session.pop(PENDING, None)
    auth.login(request, user, backend=getattr(user, "backend", None))
    request.session[VERIFIED] = True


def mark_verified(request: HttpRequest) -> None:
    """This session proved the second factor (enrolment confirms with a code)."""
    request.session[VERIFIED] = True


def _enrolment_paths() -> tuple[str, ...]:
    return (
        reverse("two-factor"),
        reverse("logout"),
        reverse("login"),
        settings.STATIC_URL,
    )


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.check(request)
        return response if response is not None else self.get_response(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.session.get(VERIFIED):
            return None
        api = request.path.startswith("/api/")
        if api and "HTTP_AUTHORIZATION" in request.META:
            return None  # a token request: the token alone decides
        state = two_factor_state(user)
        if state.enrolled:
            # Opened with the password alone, before the second factor existed.
            auth.logout(request)
            if api:
                return None  # the API now sees no session: 401
            return redirect_to_login(request.get_full_path(), reverse("login"))
        if not state.required or request.path.startswith(_enrolment_paths()):
            return None
        if api:
            return JsonResponse(
                {
                    "error": {
                        "code": "two_factor_required",
                        "message": "Set up two-factor authentication in the web "
                        "interface first (or use an API token).",
                    }
                },
                status=403,
            )
        return redirect("two-factor-setup")
