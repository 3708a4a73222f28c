"""The password-login rule: HELPLINE_PASSWORD_LOGIN is "on" (everyone), "off" (no
one), or "breakglass" (only the logins in HELPLINE_BREAKGLASS_LOGINS).  Enforced in
the authentication backend, so every password check obeys it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


def password_login_allowed(login: str) -> bool:
    mode = settings.HELPLINE_PASSWORD_LOGIN.strip().lower()
    if mode == "off":
        return False
    if mode == "breakglass":
        return login in settings.HELPLINE_BREAKGLASS_LOGINS
    return True


def password_login_mode() -> str:
    mode = settings.HELPLINE_PASSWORD_LOGIN.strip().lower()
    return mode if mode in {"off", "breakglass"} else "on"


class PasswordBackend(ModelBackend):
    """Django's backend, refusing the password of a login the rule excludes.  (Only
    the password check: an agent signed in by single sign-on stays signed in.)"""

    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is not None and not password_login_allowed(username):
            return None
        return super().authenticate(request, username, password, **kwargs)
