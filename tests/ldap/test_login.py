"""Logging in with a directory's password through the real login form, against a
private slapd (tests/ldap/slapd.py)."""

from __future__ import annotations

import socket
import time

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from helpline.actions import admin
from helpline.models import AgentProfile
from helpline.web import throttle
from tests.ldap.slapd import GROUPS, USERS, free_port

pytestmark = pytest.mark.django_db

HELPDESK = f"cn=helpdesk,{GROUPS}"


def log_in(client, login, password):
    return client.post(reverse("login"), {"username": login, "password": password})


def logged_in_as(client):
    return client.session.get("_auth_user_id")


def test_a_directory_user_logs_in_and_becomes_an_agent_with_names_and_address(
    client, ldap_settings
):
    response = log_in(client, "alice", "alice-directory-pw")

    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("dashboard")
    alice = get_user_model().objects.get(username="alice")
    assert logged_in_as(client) == str(alice.pk)
    assert (alice.first_name, alice.last_name, alice.email) == (
        "Alice",
        "Liddell",
        "alice@example.org",
    )
    assert AgentProfile.objects.filter(user=alice).exists()
    # The directory's password is never kept here.
    assert not alice.has_usable_password()
    assert not alice.is_staff
    assert not alice.is_superuser
    # The dashboard opens for the new agent.
    assert client.get(reverse("dashboard")).status_code == 200


def test_password_login_switched_off_refuses_directory_passwords_too(
    client, ldap_settings
):
    """HELPLINE_PASSWORD_LOGIN (single sign-on only, or break-glass logins only)
    covers the directory's passwords as well as local ones."""
    ldap_settings.HELPLINE_PASSWORD_LOGIN = "breakglass"
    ldap_settings.HELPLINE_BREAKGLASS_LOGINS = ["root"]
    response = log_in(client, "alice", "alice-directory-pw")
    assert response.status_code == 200
    assert logged_in_as(client) is None
    assert not get_user_model().objects.filter(username="alice").exists()
    ldap_settings.HELPLINE_BREAKGLASS_LOGINS = ["root", "alice"]
    assert log_in(client, "alice", "alice-directory-pw").status_code == 302


def test_names_follow_the_directory_at_the_next_login(client, ldap_settings, slapd):
    log_in(client, "alice", "alice-directory-pw")
    slapd.modify(
        f"dn: uid=alice,{USERS}\nchangetype: modify\nreplace: mail\n"
        "mail: alice.liddell@example.org\n"
    )
    client.logout()

    log_in(client, "alice", "alice-directory-pw")

    assert get_user_model().objects.get(username="alice").email == (
        "alice.liddell@example.org"
    )


def test_a_wrong_directory_password_is_refused_and_counted_by_the_login_throttle(
    client, ldap_settings
):
    for _ in range(throttle.MAX_FAILURES):
        response = log_in(client, "alice", "not-her-password")
        assert response.status_code == 200
        assert "correct" in response.content.decode()
        assert logged_in_as(client) is None

    # Over the limit: even the right password is not checked.
    response = log_in(client, "alice", "alice-directory-pw")

    assert response.status_code == 429
    assert logged_in_as(client) is None


def test_an_unknown_login_is_refused_and_creates_no_agent(client, ldap_settings):
    response = log_in(client, "mallory", "alice-directory-pw")

    assert response.status_code == 200
    assert logged_in_as(client) is None
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_no_agent_is_created_when_creation_is_off(client, ldap_settings):
    ldap_settings.HELPLINE_LDAP_CREATE_AGENTS = False

    response = log_in(client, "alice", "alice-directory-pw")

    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="alice").exists()


def test_mapped_groups_give_roles_and_a_membership_removed_in_the_directory_is_removed_at_the_next_login(  # noqa: E501
    client, ldap_settings, slapd
):
    support = admin.create_role("Support")
    managers = admin.create_role("Managers")
    handmade = admin.create_role("Night shift")
    ldap_settings.HELPLINE_LDAP_ROLE_MAP = f"{HELPDESK}=Support; managers=Managers"

    log_in(client, "alice", "alice-directory-pw")
    alice = get_user_model().objects.get(username="alice")
    assert set(alice.helpline_roles.values_list("name", flat=True)) == {"Support"}
    # A role the map does not name is the administrators' own: left alone.
    admin.add_role_member(handmade, alice)

    slapd.modify(
        # (a groupOfNames keeps at least one member: bob takes alice's place)
        f"dn: {HELPDESK}\nchangetype: modify\nreplace: member\n"
        f"member: uid=bob,{USERS}\n"
        "\n"
        f"dn: cn=managers,{GROUPS}\nchangetype: modify\nadd: member\n"
        f"member: uid=alice,{USERS}\n"
    )
    client.logout()
    log_in(client, "alice", "alice-directory-pw")

    assert set(alice.helpline_roles.values_list("name", flat=True)) == {
        "Managers",
        "Night shift",
    }
    assert not support.members.filter(pk=alice.pk).exists()
    assert managers.members.filter(pk=alice.pk).exists()


def test_posix_groups_map_by_member_uid(client, ldap_settings):
    admin.create_role("Staff")
    ldap_settings.HELPLINE_LDAP_GROUP_TYPE = "posixGroup"
    ldap_settings.HELPLINE_LDAP_ROLE_MAP = "staff=Staff"

    log_in(client, "alice", "alice-directory-pw")

    alice = get_user_model().objects.get(username="alice")
    assert list(alice.helpline_roles.values_list("name", flat=True)) == ["Staff"]


def test_an_unmapped_directory_user_gets_no_role_and_so_no_queue(
    client, ldap_settings, queue
):
    admin.create_role("Support")
    ldap_settings.HELPLINE_LDAP_ROLE_MAP = f"{HELPDESK}=Support"

    log_in(client, "bob", "bob-directory-pw")

    bob = get_user_model().objects.get(username="bob")
    assert logged_in_as(client) == str(bob.pk)
    assert not bob.helpline_roles.exists()
    response = client.get(reverse("dashboard"))
    assert queue.name not in response.content.decode()


def test_a_required_group_keeps_others_out(client, ldap_settings):
    ldap_settings.HELPLINE_LDAP_REQUIRE_GROUP = HELPDESK

    assert log_in(client, "bob", "bob-directory-pw").status_code == 200
    assert logged_in_as(client) is None
    assert log_in(client, "alice", "alice-directory-pw").status_code == 302


def test_an_agent_deactivated_in_helpline_is_refused_though_the_directory_accepts(
    client, ldap_settings
):
    log_in(client, "alice", "alice-directory-pw")
    client.logout()
    alice = get_user_model().objects.get(username="alice")
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    response = log_in(client, "alice", "alice-directory-pw")

    assert response.status_code == 200
    assert logged_in_as(client) is None


def test_a_local_account_cannot_be_taken_over_by_the_directory(client, ldap_settings):
    """A local agent named like a directory entry keeps its own password only."""
    admin.create_agent("bob", email="bob@local.example", password="local-Bob-pw-2026")

    assert log_in(client, "bob", "bob-directory-pw").status_code == 200
    assert logged_in_as(client) is None
    assert log_in(client, "bob", "local-Bob-pw-2026").status_code == 302


def test_directory_stopped_gives_a_clear_error_and_the_local_admin_still_logs_in(
    client, ldap_settings, slapd
):
    root = admin.create_agent(
        "root", email="root@example.org", password="break-Glass-pw-2026", is_admin=True
    )
    slapd.stop()

    response = log_in(client, "alice", "alice-directory-pw")

    page = response.content.decode()
    assert response.status_code == 200
    assert "The directory (LDAP) cannot check passwords just now" in page
    assert "Traceback" not in page
    assert logged_in_as(client) is None

    response = log_in(client, "root", "break-Glass-pw-2026")

    assert response.status_code == 302
    assert logged_in_as(client) == str(root.pk)


def test_a_directory_that_does_not_answer_is_given_up_after_the_timeout(
    client, ldap_settings
):
    """A server that accepts the connection and never answers (a hung slapd, a
    firewall that swallows packets) holds a login for HELPLINE_LDAP_TIMEOUT seconds,
    then the form says the directory cannot check passwords."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        ldap_settings.HELPLINE_LDAP_URI = f"ldap://127.0.0.1:{silent.getsockname()[1]}/"
        ldap_settings.HELPLINE_LDAP_TIMEOUT = 1
        started = time.monotonic()

        response = log_in(client, "alice", "alice-directory-pw")

        took = time.monotonic() - started
    assert response.status_code == 200
    assert "The directory (LDAP) cannot check passwords just now" in (
        response.content.decode()
    )
    assert 0.9 < took < 5, took


def test_with_two_directories_the_second_is_asked_when_the_first_is_down(
    client, ldap_settings, slapd
):
    ldap_settings.HELPLINE_LDAP_URI = f"ldap://127.0.0.1:{free_port()}/ {slapd.uri}"

    assert log_in(client, "alice", "alice-directory-pw").status_code == 302
