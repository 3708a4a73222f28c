"""Logging in (throttled, with the agent's language) and out."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from helpline.actions.twofactor import has_two_factor
from helpline.models import AgentProfile
from helpline.web import throttle
from helpline.web.twofactor import begin_second_step


class LoginView(auth_views.LoginView):
    template_name = "helpline/login.html"
    redirect_authenticated_user = True
    next_page = "dashboard"
    _attempt: throttle.Attempt

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        login = request.POST.get("username", "")
        attempt = throttle.begin(login, request)
        if not attempt.allowed:
            # The password is not even checked: no argon2 work for a guesser either.
            # One message for every limit, whether the login exists or not.
            form = self.get_form_class()(request, initial={"username": login})
            # (The message predates the other limits; kept for its translations.)
            message = _(
                "Too many failed attempts for this login. "
                "Try again later (in up to 15 minutes)."
            )
            context = self.get_context_data(form=form, throttled=message)
            return self.render_to_response(context, status=429)
        self._attempt = attempt
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        if has_two_factor(form.get_user()):
            # Not logged in yet: the code comes first (docs/authentication.md).
            throttle.passed_first_step(self._attempt)
            begin_second_step(self.request, form.get_user(), self.get_success_url())
            return redirect("login-code")
        throttle.succeeded(self._attempt)
        response = super().form_valid(form)
        language = language_of(form.get_user())
        if language:
            set_language(response, language)
        return response


def language_of(user: Any) -> str | None:
    profile = AgentProfile.objects.filter(user=user).only("language").first()
    codes = {code for code, _name in settings.LANGUAGES}
    if profile is not None and profile.language in codes:
        return profile.language
    return None


def set_language(response: HttpResponse, language: str) -> None:
    """Remember the language for LocaleMiddleware (a cookie, as Django's set_language)."""
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
    )


class LogoutView(auth_views.LogoutView):
    next_page = "login"


def admin_login(request: HttpRequest) -> HttpResponse:
    """The administration's own login form, which checks passwords unthrottled, is
    replaced by a redirect to the throttled one (which then returns to ``next``)."""
    return auth_views.redirect_to_login(
        request.GET.get("next") or reverse("admin:index"), login_url=reverse("login")
    )
