"""Single sign-on pages: off to the OpenID Connect provider, back from it, and logging
out of both (docs/authentication.md)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from helpline.actions.sso import sign_in_identity
from helpline.actions.twofactor import has_two_factor
from helpline.errors import HelplineError
from helpline.sso import oidc
from helpline.web.twofactor import begin_second_step, mark_verified
from helpline.web.views import auth

log = logging.getLogger("helpline.sso")

PENDING = "helpline_oidc"
ID_TOKEN = "helpline_oidc_id_token"  # noqa: S105 (a session key's name)
# True when the provider's amr/acr named a method in HELPLINE_OIDC_MFA_VALUES: the
# sign-in counts as two factors (for the two-factor policy to read).
MFA_FLAG = "helpline_mfa_by_idp"
BACKEND = "helpline.sso.backends.PasswordBackend"


def _failed(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(
        request, "helpline/sso_error.html", {"message": message}, status=status
    )


def _callback_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("sso-callback"))


@never_cache
def sso_login(request: HttpRequest) -> HttpResponse:
    if not oidc.enabled():
        raise Http404
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    try:
        url, pending = oidc.begin(_callback_uri(request), next_url)
    except oidc.OidcError as exc:
        log.warning("single sign-on: %s", exc.detail)
        return _failed(request, exc.message, 502)
    request.session[PENDING] = pending.as_dict()
    return HttpResponseRedirect(url)


@never_cache
def sso_callback(request: HttpRequest) -> HttpResponse:
    if not oidc.enabled():
        raise Http404
    # Used once: a replayed callback finds nothing to compare its state with.
    pending = request.session.pop(PENDING, None)
    params = {k: v for k, v in request.GET.items() if isinstance(v, str)}
    try:
        identity, id_token = oidc.finish(params, pending, _callback_uri(request))
        agent = sign_in_identity(identity)
    except oidc.OidcError as exc:
        log.warning("single sign-on refused: %s", exc.detail)
        status = 502 if "reached" in exc.message else 403
        return _failed(request, exc.message, status)
    except HelplineError as exc:
        log.warning("single sign-on refused for %r: %s", identity.login, exc.message)
        return _failed(request, exc.message, 403)
    next_url = (pending or {}).get("next") or reverse("dashboard")
    if not identity.second_factor and has_two_factor(agent):
        # The provider did not attest a second factor and the agent has one here:
        # not logged in yet, the code comes first, as after a password
        # (begin_second_step gives the session a new key).
        agent.backend = BACKEND
        begin_second_step(request, agent, next_url)
        request.session[ID_TOKEN] = id_token
        request.session[MFA_FLAG] = False
        return redirect("login-code")
    # login() gives the session a new key: no session fixation across the sign-in.
    login(request, agent, backend=BACKEND)
    request.session[ID_TOKEN] = id_token
    request.session[MFA_FLAG] = identity.second_factor
    if identity.second_factor:
        # HELPLINE_OIDC_MFA_VALUES: the provider's second factor counts as ours.
        mark_verified(request)
    response = HttpResponseRedirect(next_url)
    language = auth.language_of(agent)
    if language:
        auth.set_language(response, language)
    return response


class LogoutView(auth.LogoutView):
    """Logging out also ends the provider's session when the agent came from it:
    a page that sends the browser on to the provider (a redirect would not do: the
    logout form's answer may only lead to Helpline itself, form-action 'self')."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        id_token = request.session.get(ID_TOKEN)
        response = super().post(request, *args, **kwargs)
        if id_token and oidc.enabled():
            url = oidc.logout_url(
                id_token, request.build_absolute_uri(reverse("login"))
            )
            if url:
                return render(
                    request, "helpline/sso_logged_out.html", {"provider_logout": url}
                )
        return response
