"""Password reset: asking for a link by mail (throttled; the same answer whatever the
address) and choosing a new password with it (Django's token and validators)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from helpline.actions.sessions import EndReason, do_end_all, end_other_sessions
from helpline.jobs import password_reset_mail_job
from helpline.web import throttle


class ResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


@require_http_methods(["GET", "POST"])
def request_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link.  Every valid request gets the same page, whether the
    address is an agent's or not; over the limits, every request gets the same 429."""
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if not throttle.reset_allowed(email, request):
            message = _("Too many reset requests. Try again later (in up to an hour).")
            return render(
                request,
                "helpline/password_reset.html",
                {"form": form, "throttled": message},
                status=429,
            )
        # Queued as a job: the request does the same work for every address.
        password_reset_mail_job(email)
        return render(request, "helpline/password_reset_sent.html")
    return render(request, "helpline/password_reset.html", {"form": form})


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view: the token moves from the URL into the session at once (so the
    page with the form leaks no token through Referer), the validators apply."""

    template_name = "helpline/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["password_min_length"] = settings.HELPLINE_PASSWORD_MIN_LENGTH
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # Its sessions end (Django refuses them anyway: the password hash changed).
        do_end_all(form.user, reason=EndReason.PASSWORD)
        return response


def reset_complete(request: HttpRequest) -> HttpResponse:
    return render(request, "helpline/password_reset_complete.html")


class PasswordChangeView(auth_views.PasswordChangeView):
    """The agent changes its own password (the old one first; the rules apply).
    This session stays (with a new key); every other session of the agent ends."""

    template_name = "helpline/password_change.html"
    success_url = reverse_lazy("sessions")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["password_min_length"] = settings.HELPLINE_PASSWORD_MIN_LENGTH
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        end_other_sessions(
            form.user,
            keep_key=self.request.session.session_key or "",
            reason=EndReason.PASSWORD,
        )
        messages.success(
            self.request,
            _("Your password was changed; your other sessions were ended."),
        )
        return response
