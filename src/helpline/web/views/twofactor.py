"""Two-factor screens: the second login step, and setting it up, regenerating the
recovery codes and switching it off under the agent's preferences."""

from __future__ import annotations

import base64
from io import BytesIO
from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline.actions import twofactor as actions
from helpline.actions.webauthn import has_keys, keys_of
from helpline.errors import HelplineError
from helpline.web import throttle
from helpline.web import twofactor as state
from helpline.web.views.auth import language_of, set_language
from helpline.web.views.decorators import AgentRequest, agent_view


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class PasswordAndCodeForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=gettext_lazy("Code from the app, or a recovery code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}
        ),
    )


def throttled_message() -> str:
    return _(
        "Too many failed attempts for this login. "
        "Try again later (in up to 15 minutes)."
    )


def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the app or a recovery code, after the password."""
    waiting = state.pending(request)
    if waiting is None:
        messages.info(request, _("Log in with your password first."))
        return redirect("login")
    form = CodeForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "has_keys": has_keys(waiting.user)}
    if request.method == "POST" and form.is_valid():
        attempt = throttle.begin(waiting.user.get_username(), request)
        if not attempt.allowed:
            context["error"] = throttled_message()
            return render(
                request, "helpline/two_factor_login.html", context, status=429
            )
        used = actions.verify_second_factor(waiting.user, form.cleaned_data["code"])
        if used is not None:
            throttle.succeeded(attempt)
            state.complete_login(request, waiting.user)
            if used == actions.Verified.RECOVERY_CODE:
                messages.warning(
                    request,
                    _(
                        "You logged in with a recovery code; it is used up. "
                        "%(left)d are left."
                    )
                    % {"left": actions.recovery_codes_left(waiting.user)},
                )
            response = redirect(waiting.next_url)
            language = language_of(waiting.user)
            if language:
                set_language(response, language)
            return response
        context["error"] = _("That code is not right.")
    return render(request, "helpline/two_factor_login.html", context)


def qr_code_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code, for an ``img`` (no script, no request)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@agent_view
def overview(request: AgentRequest) -> HttpResponse:
    agent = request.user
    return render(
        request,
        "helpline/two_factor.html",
        {
            "enabled": actions.has_authenticator_app(agent),
            "keys": keys_of(agent),
            "codes_left": actions.recovery_codes_left(agent),
            "policies": actions.policies_for(agent),
            "form": PasswordAndCodeForm(),
        },
    )


@agent_view
def setup(request: AgentRequest) -> HttpResponse:
    agent = request.user
    if actions.has_authenticator_app(agent):
        return redirect("two-factor")
    form = CodeForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            codes = actions.confirm_enrolment(agent, form.cleaned_data["code"])
        except HelplineError as exc:
            error = exc.message
        else:
            state.mark_verified(request)
            request.session[state.NEW_CODES] = codes
            return redirect("two-factor-codes")
    device = actions.start_enrolment(agent)
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "helpline/two_factor_setup.html",
        {
            "form": form,
            "error": error,
            "qr": qr_code_data_uri(device.config_url),
            "secret": grouped(secret),
            "policies": actions.policies_for(agent),
        },
    )


@agent_view
def codes(request: AgentRequest) -> HttpResponse:
    """The new recovery codes, shown once."""
    new = request.session.pop(state.NEW_CODES, None)
    if not new:
        return redirect("two-factor")
    shown = [f"{c[:4]}-{c[4:]}" for c in new]
    return render(request, "helpline/two_factor_codes.html", {"codes": shown})


def _password_and_code(request: AgentRequest) -> PasswordAndCodeForm | None:
    form = PasswordAndCodeForm(request.POST)
    return form if form.is_valid() else None


@agent_view
def regenerate(request: AgentRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("two-factor")
    form = _password_and_code(request)
    if form is None:
        messages.error(request, _("Enter your password and a code."))
        return redirect("two-factor")
    attempt = throttle.begin(request.user.get_username(), request)
    if not attempt.allowed:
        messages.error(request, throttled_message())
        return redirect("two-factor")
    try:
        new = actions.regenerate_recovery_codes(
            request.user,
            password=form.cleaned_data["password"],
            code=form.cleaned_data["code"],
        )
    except HelplineError as exc:
        messages.error(request, exc.message)
        return redirect("two-factor")
    throttle.passed_first_step(attempt)
    request.session[state.NEW_CODES] = new
    return redirect("two-factor-codes")


@agent_view
def disable(request: AgentRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("two-factor")
    form = _password_and_code(request)
    if form is None:
        messages.error(request, _("Enter your password and a code."))
        return redirect("two-factor")
    attempt = throttle.begin(request.user.get_username(), request)
    if not attempt.allowed:
        messages.error(request, throttled_message())
        return redirect("two-factor")
    try:
        actions.disable_two_factor(
            request.user,
            password=form.cleaned_data["password"],
            code=form.cleaned_data["code"],
        )
    except HelplineError as exc:
        messages.error(request, exc.message)
        return redirect("two-factor")
    throttle.passed_first_step(attempt)
    messages.success(request, _("Two-factor authentication is switched off."))
    return redirect("two-factor")
