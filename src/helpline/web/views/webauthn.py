"""Security keys and passkeys (WebAuthn): adding and removing them under the
agent's two-factor preferences, and using one at the second login step.

The browser side is ``static/helpline/webauthn.js`` (no inline script: the Content
Security Policy forbids it).  It asks for options (JSON; the challenge stays in the
session), calls ``navigator.credentials``, and posts the authenticator's answer back
as JSON; the answer to that is ``{"redirect": url}`` or ``{"error": message}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpline.actions import webauthn as actions
from helpline.errors import HelplineError
from helpline.web import throttle
from helpline.web import twofactor as state
from helpline.web.views.auth import language_of, set_language
from helpline.web.views.decorators import AgentRequest, agent_view
from helpline.web.views.twofactor import throttled_message

REGISTRATION = "helpline_webauthn_registration"
ASSERTION = "helpline_webauthn_assertion"


def relying_party(request: HttpRequest) -> actions.RelyingParty:
    """The RP id and origin of this request (its host is checked by ALLOWED_HOSTS)."""
    host = request.get_host()
    return actions.RelyingParty(
        rp_id=host.rsplit(":", 1)[0] if not host.endswith("]") else host,
        origin=f"{request.scheme}://{host}",
    )


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _options(options_json: str) -> HttpResponse:
    return HttpResponse(options_json, content_type="application/json")


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@agent_view
@require_POST
def register_options(request: AgentRequest) -> HttpResponse:
    options, challenge = actions.registration_options(
        request.user, relying_party(request)
    )
    request.session[REGISTRATION] = challenge
    return _options(options)


@agent_view
@require_POST
def register(request: AgentRequest) -> HttpResponse:
    data = _json_body(request)
    challenge = request.session.pop(REGISTRATION, "")
    try:
        key = actions.finish_registration(
            request.user,
            relying_party(request),
            response=json.dumps(data.get("credential")),
            challenge=str(challenge or ""),
            name=str(data.get("name") or ""),
        )
    except HelplineError as exc:
        return _error(exc.message)
    # Creating the key proved it is at hand, as a code confirms an app.
    state.mark_verified(request)
    messages.success(
        request, _("The security key “%(name)s” is added.") % {"name": key.name}
    )
    return JsonResponse({"redirect": reverse("two-factor")})


@agent_view
def remove(request: AgentRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("two-factor")
    try:
        key_id = int(request.POST.get("key", ""))
    except ValueError:
        messages.error(request, _("No such security key."))
        return redirect("two-factor")
    try:
        actions.remove_key(
            request.user, key_id, password=request.POST.get("password", "")
        )
    except HelplineError as exc:
        messages.error(request, exc.message)
        return redirect("two-factor")
    messages.success(request, _("The security key is removed."))
    return redirect("two-factor")


@require_POST
def login_options(request: HttpRequest) -> HttpResponse:
    waiting = state.pending(request)
    if waiting is None:
        return _error(_("Log in with your password first."))
    try:
        options, challenge = actions.authentication_options(
            waiting.user, relying_party(request)
        )
    except HelplineError as exc:
        return _error(exc.message)
    request.session[ASSERTION] = challenge
    return _options(options)


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    """The second step with a security key: the assertion, after the password."""
    waiting = state.pending(request)
    if waiting is None:
        return _error(_("Log in with your password first."))
    challenge = str(request.session.pop(ASSERTION, "") or "")
    attempt = throttle.begin(waiting.user.get_username(), request)
    if not attempt.allowed:
        return _error(throttled_message(), 429)
    data = _json_body(request)
    if not actions.verify_assertion(
        waiting.user,
        relying_party(request),
        response=json.dumps(data.get("credential")),
        challenge=challenge,
    ):
        return _error(_("That security key was not accepted."))
    throttle.succeeded(attempt)
    state.complete_login(request, waiting.user)
    response = JsonResponse({"redirect": waiting.next_url})
    language = language_of(waiting.user)
    if language:
        set_language(response, language)
    return response
