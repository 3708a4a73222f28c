from __future__ import annotations

import importlib.util

import pytest

from tests.ldap.slapd import ENTRIES, GROUPS, ROOT_DN, ROOT_PASSWORD, USERS, Slapd


@pytest.fixture(autouse=True)
def _django_auth_ldap_installed():
    """The back-end is an optional extra: say so rather than fail at the first login."""
    if importlib.util.find_spec("django_auth_ldap") is None:
        pytest.fail(
            "django-auth-ldap is not installed: pip install -e '.[dev,ldap]' "
            "(make test does it, after bash .ci/system-packages)."
        )


@pytest.fixture
def slapd(tmp_path):
    """A private slapd holding alice, bob and their groups (tests/ldap/slapd.py)."""
    server = Slapd(tmp_path / "slapd")
    server.start()
    try:
        server.add(ENTRIES)
        yield server
    finally:
        server.stop()


@pytest.fixture
def ldap_settings(settings, slapd):
    """Helpline pointed at the private slapd, the directory back-end after Django's."""
    settings.HELPLINE_LDAP_URI = slapd.uri
    settings.HELPLINE_LDAP_BIND_DN = ROOT_DN
    settings.HELPLINE_LDAP_BIND_PASSWORD = ROOT_PASSWORD
    settings.HELPLINE_LDAP_USER_SEARCH_BASE = USERS
    settings.HELPLINE_LDAP_GROUP_SEARCH_BASE = GROUPS
    settings.HELPLINE_LDAP_TIMEOUT = 2
    settings.AUTHENTICATION_BACKENDS = [  # as settings.py makes them with LDAP on
        "helpline.sso.backends.PasswordBackend",
        "helpline.ldap_backend.HelplineLDAPBackend",
    ]
    return settings


@pytest.fixture
def tls_slapd(tmp_path):
    """The same directory, with a certificate for 127.0.0.1 from a private CA."""
    server = Slapd(tmp_path / "slapd", tls=True)
    server.start()
    try:
        server.add(ENTRIES)
        yield server
    finally:
        server.stop()
