"""System checks for single sign-on (``helpline check``; docs/authentication.md).

- ``helpline.E060``: ``HELPLINE_PASSWORD_LOGIN`` is not ``on``, ``off`` or
  ``breakglass`` (it is then taken as ``on``).
- ``helpline.E061``: ``HELPLINE_OIDC_ISSUER`` is set without a client id and secret.
- ``helpline.E062``: no one could log in: password login ``off`` (or ``breakglass``
  with no logins) and no single sign-on.
- ``helpline.W063`` (``--deploy``): the issuer is not https: codes and tokens would
  cross the network in clear.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from helpline.sso import oidc

MODES = ("on", "off", "breakglass")


@register(Tags.security)
def check_sso_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    mode = settings.HELPLINE_PASSWORD_LOGIN.strip().lower()
    if mode not in MODES:
        found.append(
            Error(
                f"HELPLINE_PASSWORD_LOGIN is {settings.HELPLINE_PASSWORD_LOGIN!r}.",
                hint="Use on, off or breakglass; it is taken as on meanwhile.",
                id="helpline.E060",
            )
        )
    issuer = settings.HELPLINE_OIDC_ISSUER
    if issuer and not (
        settings.HELPLINE_OIDC_CLIENT_ID and settings.HELPLINE_OIDC_CLIENT_SECRET
    ):
        found.append(
            Error(
                "HELPLINE_OIDC_ISSUER is set but the client id or secret is missing.",
                hint="Set HELPLINE_OIDC_CLIENT_ID and HELPLINE_OIDC_CLIENT_SECRET.",
                id="helpline.E061",
            )
        )
    nobody = mode == "off" or (
        mode == "breakglass" and not settings.HELPLINE_BREAKGLASS_LOGINS
    )
    if nobody and not oidc.enabled():
        found.append(
            Error(
                "No one can log in: password login is switched off and single "
                "sign-on is not configured.",
                hint="Set HELPLINE_OIDC_ISSUER (docs/authentication.md), or "
                "HELPLINE_BREAKGLASS_LOGINS with HELPLINE_PASSWORD_LOGIN=breakglass.",
                id="helpline.E062",
            )
        )
    return found


@register(Tags.security, deploy=True)
def check_sso_issuer_https(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    issuer = settings.HELPLINE_OIDC_ISSUER
    if issuer and urlsplit(issuer).scheme != "https":
        return [
            Warning(
                f"HELPLINE_OIDC_ISSUER {issuer!r} is not https.",
                hint="Codes and tokens would cross the network in clear.",
                id="helpline.W063",
            )
        ]
    return []
