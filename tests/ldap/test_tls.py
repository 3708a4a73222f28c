"""StartTLS to the directory, its certificate checked against HELPLINE_LDAP_CA_FILE."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.ldap.slapd import ROOT_DN, ROOT_PASSWORD, USERS
from tests.ldap.test_login import log_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def tls_settings(settings, tls_slapd):
    settings.HELPLINE_LDAP_URI = tls_slapd.uri
    settings.HELPLINE_LDAP_START_TLS = True
    settings.HELPLINE_LDAP_BIND_DN = ROOT_DN
    settings.HELPLINE_LDAP_BIND_PASSWORD = ROOT_PASSWORD
    settings.HELPLINE_LDAP_USER_SEARCH_BASE = USERS
    settings.HELPLINE_LDAP_TIMEOUT = 2
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "helpline.ldap_backend.HelplineLDAPBackend",
    ]
    return settings


def test_start_tls_with_the_directory_s_ca_logs_in(client, tls_settings, tls_slapd):
    tls_settings.HELPLINE_LDAP_CA_FILE = str(tls_slapd.ca)

    response = log_in(client, "alice", "alice-directory-pw")

    assert response.status_code == 302
    assert get_user_model().objects.filter(username="alice").exists()


def test_a_certificate_from_an_unknown_ca_is_refused_with_a_clear_error(
    client, tls_settings
):
    """Without the CA (the system's CAs do not know it), no password is sent."""
    response = log_in(client, "alice", "alice-directory-pw")

    assert response.status_code == 200
    assert "The directory (LDAP) cannot check passwords just now" in (
        response.content.decode()
    )
    assert not get_user_model().objects.filter(username="alice").exists()


def test_without_start_tls_a_directory_that_requires_tls_lets_no_one_in(
    client, tls_settings, tls_slapd
):
    tls_settings.HELPLINE_LDAP_START_TLS = False
    tls_settings.HELPLINE_LDAP_CA_FILE = str(tls_slapd.ca)

    response = log_in(client, "alice", "alice-directory-pw")

    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="alice").exists()
