"""The LDAP settings' system checks (helpline/ldap_checks.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from helpline.ldap_checks import check_ldap_settings, check_ldap_transport


def ids(messages):
    return sorted(message.id for message in messages)


@pytest.fixture
def configured(settings):
    settings.HELPLINE_LDAP_URI = "ldaps://ldap.example.org/"
    settings.HELPLINE_LDAP_USER_SEARCH_BASE = "ou=people,dc=example,dc=org"
    settings.HELPLINE_LDAP_GROUP_SEARCH_BASE = "ou=groups,dc=example,dc=org"
    return settings


def test_nothing_is_checked_while_ldap_is_off(settings):
    settings.HELPLINE_LDAP_URI = ""
    settings.HELPLINE_LDAP_GROUP_TYPE = "nonsense"

    assert check_ldap_settings() == []
    assert check_ldap_transport() == []


def test_a_complete_configuration_passes(configured):
    configured.HELPLINE_LDAP_ROLE_MAP = (
        "cn=helpdesk,ou=groups,dc=example,dc=org=Support"
    )

    assert check_ldap_settings() == []
    assert check_ldap_transport() == []


def test_mistakes_in_the_settings_are_errors(configured):
    configured.HELPLINE_LDAP_USER_SEARCH_BASE = ""
    configured.HELPLINE_LDAP_GROUP_TYPE = "groupOfUniqueNames"
    configured.HELPLINE_LDAP_ROLE_MAP = "helpdesk=Support;no role here"

    assert ids(check_ldap_settings()) == [
        "helpline.E031",
        "helpline.E032",
        "helpline.E033",
    ]


def test_helpline_check_fails_on_them(configured):
    configured.HELPLINE_LDAP_GROUP_TYPE = "groupOfUniqueNames"

    with pytest.raises(SystemCheckError, match="helpline.E032"):
        call_command("check")


def test_a_role_map_without_groups_is_warned_of(configured):
    configured.HELPLINE_LDAP_GROUP_SEARCH_BASE = ""
    configured.HELPLINE_LDAP_ROLE_MAP = "helpdesk=Support"

    assert ids(check_ldap_settings()) == ["helpline.W031"]


def test_passwords_in_clear_to_another_host_are_warned_of_on_deploy(configured):
    configured.HELPLINE_LDAP_URI = "ldap://ldap.example.org/ ldap://127.0.0.1:389/"

    warnings = check_ldap_transport()

    assert ids(warnings) == ["helpline.W030"]
    assert "ldap://ldap.example.org/" in warnings[0].msg
    assert "127.0.0.1" not in warnings[0].msg
    configured.HELPLINE_LDAP_START_TLS = True
    assert check_ldap_transport() == []
