"""Logging in with a directory's password (LDAP), through django-auth-ldap.

On only when ``HELPLINE_LDAP_URI`` is set; it then comes *after* Django's own
back-end (settings.AUTHENTICATION_BACKENDS), so local accounts (the break-glass
administrator) log in whatever the directory's state.  The rules kept here:

- an agent with a local password is a local account: the directory cannot log in as
  it, even with a directory entry of the same login;
- an agent deactivated in Helpline stays refused, whatever the directory says;
- a directory agent has no usable password here (django-auth-ldap sets it unusable);
- the roles named in ``HELPLINE_LDAP_ROLE_MAP`` follow the directory's groups at each
  login (helpline.actions.directory); nothing else grants queue access;
- a directory that cannot be reached is a clear message on the login form
  (``DirectoryUnavailable``, a form error), not a traceback nor "wrong password".
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext as _
from django_auth_ldap.backend import LDAPBackend, ldap_error
from django_auth_ldap.config import (
    ActiveDirectoryGroupType,
    GroupOfNamesType,
    LDAPSearch,
    LDAPSettings,
    PosixGroupType,
)

import ldap
from helpline.actions.directory import do_sync_directory_agent, parse_role_map

log = logging.getLogger(__name__)

# HELPLINE_LDAP_GROUP_TYPE: (django-auth-ldap's group type, the groups' filter).
GROUP_TYPES = {
    "groupofnames": (GroupOfNamesType, "(objectClass=groupOfNames)"),
    "posixgroup": (PosixGroupType, "(objectClass=posixGroup)"),
    "activedirectory": (ActiveDirectoryGroupType, "(objectClass=group)"),
}


class DirectoryUnavailable(ValidationError):
    """The directory did not answer: shown on the login form as its error (a
    ``ValidationError`` raised while the form authenticates becomes a form error)."""


def ldap_settings() -> dict[str, Any]:
    """django-auth-ldap's settings made from the HELPLINE_LDAP_* ones (read at each
    login, so a changed setting needs no restart of the back-end object)."""
    group_type = settings.HELPLINE_LDAP_GROUP_TYPE.strip().lower()
    if group_type not in GROUP_TYPES:
        raise ImproperlyConfigured(
            "HELPLINE_LDAP_GROUP_TYPE must be groupOfNames, posixGroup or "
            f"activeDirectory, not {settings.HELPLINE_LDAP_GROUP_TYPE!r}."
        )
    type_class, group_filter = GROUP_TYPES[group_type]
    values: dict[str, Any] = {
        "SERVER_URI": settings.HELPLINE_LDAP_URI,
        "BIND_DN": settings.HELPLINE_LDAP_BIND_DN,
        "BIND_PASSWORD": settings.HELPLINE_LDAP_BIND_PASSWORD,
        "START_TLS": settings.HELPLINE_LDAP_START_TLS,
        "USER_SEARCH": LDAPSearch(
            settings.HELPLINE_LDAP_USER_SEARCH_BASE,
            ldap.SCOPE_SUBTREE,
            settings.HELPLINE_LDAP_USER_FILTER,
        ),
        "USER_ATTR_MAP": {
            field: attr
            for field, attr in (
                ("first_name", settings.HELPLINE_LDAP_ATTR_FIRST_NAME),
                ("last_name", settings.HELPLINE_LDAP_ATTR_LAST_NAME),
                ("email", settings.HELPLINE_LDAP_ATTR_EMAIL),
            )
            if attr
        },
        # Names and address follow the directory at every login.
        "ALWAYS_UPDATE_USER": True,
        "NO_NEW_USERS": not settings.HELPLINE_LDAP_CREATE_AGENTS,
        "REQUIRE_GROUP": settings.HELPLINE_LDAP_REQUIRE_GROUP or None,
        "CONNECTION_OPTIONS": connection_options(),
        "GROUP_TYPE": type_class(),
    }
    if settings.HELPLINE_LDAP_GROUP_SEARCH_BASE:
        values["GROUP_SEARCH"] = LDAPSearch(
            settings.HELPLINE_LDAP_GROUP_SEARCH_BASE, ldap.SCOPE_SUBTREE, group_filter
        )
    return values


def connection_options() -> dict[int, Any]:
    timeout = settings.HELPLINE_LDAP_TIMEOUT
    options: dict[int, Any] = {
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
        # Active Directory's referrals would send the search elsewhere.
        ldap.OPT_REFERRALS: 0,
        # The directory's certificate is always checked (ldaps:// and StartTLS).
        ldap.OPT_X_TLS_REQUIRE_CERT: ldap.OPT_X_TLS_DEMAND,
    }
    if settings.HELPLINE_LDAP_CA_FILE:
        options[ldap.OPT_X_TLS_CACERTFILE] = settings.HELPLINE_LDAP_CA_FILE
    # Last: the TLS options above take effect in a new TLS context of this connection.
    options[ldap.OPT_X_TLS_NEWCTX] = 0
    return options


class HelplineLDAPBackend(LDAPBackend):
    _helpline_settings: LDAPSettings | None = None

    @property
    def settings(self) -> LDAPSettings:
        if self._helpline_settings is None:
            self._helpline_settings = LDAPSettings(
                self.settings_prefix, ldap_settings()
            )
        return self._helpline_settings

    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """A directory password is a password login: HELPLINE_PASSWORD_LOGIN (off,
        breakglass) applies to it as to local passwords."""
        from helpline.sso.backends import password_login_allowed

        if username is not None and not password_login_allowed(username):
            return None
        return super().authenticate(request, username, password, **kwargs)

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[Any, bool]:
        user, built = super().get_or_build_user(username, ldap_user)
        if not built:
            if not user.is_active:
                raise ldap_user.AuthenticationFailed("agent deactivated in Helpline")
            if user.has_usable_password():
                raise ldap_user.AuthenticationFailed("a local account of Helpline")
        user._helpline_built = built
        return user, built

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> Any:
        user = ldap_user.authenticate(password)
        if user is None:
            return None
        role_map = parse_role_map(settings.HELPLINE_LDAP_ROLE_MAP)
        groups: list[str] = []
        if role_map and settings.HELPLINE_LDAP_GROUP_SEARCH_BASE:
            try:
                groups = [*ldap_user.group_dns, *ldap_user.group_names]
            except ldap.LDAPError as exc:
                raise unavailable(exc) from exc
        do_sync_directory_agent(
            user,
            created=getattr(user, "_helpline_built", False),
            groups=groups,
            role_map=role_map,
        )
        return user


def unavailable(exc: Exception) -> DirectoryUnavailable:
    log.warning("LDAP directory unavailable: %r", exc)
    return DirectoryUnavailable(
        _(
            "The directory (LDAP) cannot check passwords just now, so directory "
            "accounts cannot log in. Try again in a few minutes, or tell your "
            "administrator."
        ),
        code="directory_unavailable",
    )


# Errors that mean the directory is not there (or too slow); others (a refused
# password) are ordinary failed logins.
_UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR)


def _directory_failed(
    sender: Any, context: str, exception: Exception, **kwargs: Any
) -> None:
    """django-auth-ldap reports a directory's errors by this signal and carries on
    as if the password were wrong: an unreachable directory is said as it is."""
    if isinstance(exception, _UNREACHABLE):
        raise unavailable(exception)


ldap_error.connect(
    _directory_failed, sender=HelplineLDAPBackend, dispatch_uid="helpline.ldap"
)
