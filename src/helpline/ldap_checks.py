"""System checks of the LDAP settings (docs/authentication.md): a mistake shows in
``helpline check`` (and before ``serve`` and ``migrate``), not as a failed login."""

from __future__ import annotations

import importlib.util
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

GROUP_TYPES = ("groupofnames", "posixgroup", "activedirectory")
_LOOPBACK = ("127.", "::1", "[::1]", "localhost")


@register()
def check_ldap_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.HELPLINE_LDAP_URI:
        return []
    from helpline.actions.directory import parse_role_map

    problems: list[CheckMessage] = []
    if importlib.util.find_spec("django_auth_ldap") is None:
        problems.append(
            Error(
                "HELPLINE_LDAP_URI is set but django-auth-ldap is not installed.",
                hint="pip install 'helpline[ldap]' (docs/authentication.md).",
                id="helpline.E030",
            )
        )
    if not settings.HELPLINE_LDAP_USER_SEARCH_BASE:
        problems.append(
            Error(
                "HELPLINE_LDAP_USER_SEARCH_BASE is empty: no directory user is found.",
                hint="e.g. ou=people,dc=example,dc=org",
                id="helpline.E031",
            )
        )
    if settings.HELPLINE_LDAP_GROUP_TYPE.strip().lower() not in GROUP_TYPES:
        problems.append(
            Error(
                f"HELPLINE_LDAP_GROUP_TYPE {settings.HELPLINE_LDAP_GROUP_TYPE!r} is "
                "not one of groupOfNames, posixGroup, activeDirectory.",
                id="helpline.E032",
            )
        )
    try:
        role_map = parse_role_map(settings.HELPLINE_LDAP_ROLE_MAP)
    except ValueError as exc:
        problems.append(
            Error(f"HELPLINE_LDAP_ROLE_MAP: {exc}", id="helpline.E033"),
        )
    else:
        if role_map and not settings.HELPLINE_LDAP_GROUP_SEARCH_BASE:
            problems.append(
                Warning(
                    "HELPLINE_LDAP_ROLE_MAP is set but HELPLINE_LDAP_GROUP_SEARCH_BASE "
                    "is empty: no group is found, so every mapped role is taken away "
                    "at each login.",
                    id="helpline.W031",
                )
            )
    return problems


@register(Tags.security, deploy=True)
def check_ldap_transport(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Passwords go to the directory in a simple bind: over TLS unless on this host."""
    if not settings.HELPLINE_LDAP_URI or settings.HELPLINE_LDAP_START_TLS:
        return []
    clear = []
    for uri in settings.HELPLINE_LDAP_URI.replace(",", " ").split():
        parts = urlsplit(uri)
        host = parts.hostname or ""
        if parts.scheme.lower() == "ldap" and not host.startswith(_LOOPBACK):
            clear.append(uri)
    if not clear:
        return []
    return [
        Warning(
            f"Agents' passwords would go to {', '.join(clear)} unencrypted.",
            hint="Use ldaps:// or HELPLINE_LDAP_START_TLS=true.",
            id="helpline.W030",
        )
    ]
