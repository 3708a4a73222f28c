"""Who is calling: a bearer token, or the web UI's own logged-in session.

A request that presents a bearer token is judged by that token alone: a wrong one is
401 even if a session cookie is also present.  The session is accepted only with a valid
CSRF token on unsafe methods, exactly as Django's forms require.  Both count against the
rate limit, per token or per agent; wrong tokens per client address.  (The API
takes no passwords: a token is a random secret, so there is no login to throttle.)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from helpline.actions.api_tokens import authenticate_token
from helpline.actions.twofactor import two_factor_state
from helpline.api.errors import ApiError
from helpline.api.ratelimit import count_request
from helpline.models import TokenScope
from helpline.web.throttle import client_address

# What a read-only token may do.
READING = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerToken(HttpBearer):
    """``Authorization: Bearer hlp_...``: a token made with ``helpline api-token``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        api_token = authenticate_token(token.strip())
        if api_token is None:
            # Wrong tokens count against the address they come from (a 429 before
            # the 401 once it sends too many).
            count_request(f"bad-token:{client_address(request)}")
            raise ApiError(
                401,
                "invalid_token",
                "The token is wrong, expired or revoked, or its agent is switched off.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        request.api_token = api_token  # type: ignore[attr-defined]
        count_request(f"token:{api_token.pk}")
        if api_token.scope == TokenScope.READ and request.method not in READING:
            raise ApiError(
                403,
                "insufficient_scope",
                "This token may only read (its scope is read): use a read-write "
                "token to change anything.",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        if settings.HELPLINE_TWO_FACTOR_TOKENS == "refuse":
            state = two_factor_state(api_token.agent)
            if state.required and not state.enrolled:
                raise ApiError(
                    403,
                    "two_factor_required",
                    "A policy requires this token's agent to use two-factor "
                    "authentication: set it up in the web interface first.",
                )
        return api_token.agent


class BrowserSession(APIKeyCookie):
    """The session cookie of the web UI, with Django's CSRF check on unsafe methods."""

    param_name = "sessionid"

    def __call__(self, request: HttpRequest) -> Any | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if check_csrf(request) is not None:
            raise ApiError(
                403,
                "csrf_failed",
                "The CSRF check failed: send the X-CSRFToken header from the page.",
            )
        return self.authenticate(request, None)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        count_request(f"agent:{request.user.pk}")
        return request.user

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)


def api_auth() -> list[Any]:
    return [BearerToken(), BrowserSession(csrf=True)]
