"""Attacks on the second factor: an attacker who knows an agent's password.

The password alone opens nothing (no page, no administration screen, no API call
with the session); wrong codes count against the login throttle like wrong
passwords, a right password does not wipe them, and each device backs off after
failures, whatever the address.  API tokens are a separate secret and are judged
alone (docs/authentication.md).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.web import throttle
from tests.auth import code_step, enrol, fresh_code, password_step, wrong_code
from tests.web import PASSWORD, build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def world(db):
    world = build_world(passwords=True)
    admin.update_agent(
        None, world.alice, email=world.alice.email, is_admin=True, is_active=True
    )
    enrol(world.alice)
    return world


def test_the_password_alone_opens_no_page(client, world):
    assert password_step(client, "alice", PASSWORD).status_code == 302
    assert "_auth_user_id" not in client.session
    for url in (
        reverse("dashboard"),
        reverse("zoom", args=[world.ticket.number]),
        reverse("search") + "?q=question",
        reverse("preferences"),
        reverse("two-factor"),
        reverse("two-factor-setup"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/helpline/agentaccount/").status_code == 302
    assert client.get("/api/v1/me").status_code == 401
    assert client.get(f"/api/v1/tickets/{world.ticket.number}").status_code == 401


def test_the_administrations_login_leads_to_the_same_two_steps(client, world):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD}
    )
    assert "_auth_user_id" not in client.session
    login = client.post(
        response["Location"],
        {"username": "alice", "password": PASSWORD, "next": "/admin/"},
    )
    assert login["Location"] == reverse("login-code")
    assert client.get("/admin/").status_code == 302
    done = code_step(client, fresh_code(world.alice))
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_code_step_of_one_session_is_no_use_to_another(client, world):
    password_step(client, "alice", PASSWORD)
    other = Client()
    response = code_step(other, fresh_code(world.alice))
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in other.session


def test_wrong_codes_are_throttled_like_wrong_passwords(client, world):
    """After five wrong codes from one address, not even the right code is
    checked; and the right password again does not wipe the count."""
    password_step(client, "alice", PASSWORD)
    for _ in range(throttle.MAX_FAILURES):
        assert code_step(client, wrong_code(world.alice)).status_code == 200
    refused = code_step(client, fresh_code(world.alice))
    assert refused.status_code == 429
    assert b"Too many failed attempts" in refused.content
    assert "_auth_user_id" not in client.session
    # Starting over with the password is refused too (the same counters)...
    assert password_step(Client(), "alice", PASSWORD).status_code == 429
    # ...while the agent, from its own address, still logs in (the limit over all
    # addresses of one login is higher: docs/security.md).
    elsewhere = Client(REMOTE_ADDR="192.0.2.50")
    assert password_step(elsewhere, "alice", PASSWORD).status_code == 302
    assert code_step(elsewhere, fresh_code(world.alice)).status_code == 302


def test_a_right_password_does_not_clear_failed_codes(client, world, settings):
    """Were the right password to clear the counters, an attacker knowing it could
    try four codes, log in with the password again, and go on for ever."""
    settings.HELPLINE_LOGIN_FAILURES_PER_LOGIN_AND_CLIENT = 6
    for _ in range(3):
        password_step(client, "alice", PASSWORD)
        code_step(client, wrong_code(world.alice))
        code_step(client, wrong_code(world.alice))
    assert password_step(client, "alice", PASSWORD).status_code == 429


def test_each_device_backs_off_after_failures_from_any_address(world, settings):
    """django-otp's back-off: after a wrong code the device checks no code for a
    while (1, 2, 4... seconds), even the right one from another address."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 30
    first = Client(REMOTE_ADDR="198.51.100.1")
    password_step(first, "alice", PASSWORD)
    code_step(first, wrong_code(world.alice))
    second = Client(REMOTE_ADDR="198.51.100.2")
    password_step(second, "alice", PASSWORD)
    assert code_step(second, fresh_code(world.alice)).status_code == 200
    assert "_auth_user_id" not in second.session


def test_recovery_codes_are_throttled_too(client, world):
    password_step(client, "alice", PASSWORD)
    for n in range(throttle.MAX_FAILURES):
        assert code_step(client, f"wrongcod{n}").status_code == 200
    assert code_step(client, "aaaa-bbbb").status_code == 429


def test_api_tokens_are_a_separate_secret(client, world):
    """A token opens the API without a code (it is not a password: a random secret
    an agent makes while logged in); a session with the password alone does not."""
    secret = create_token(world.alice).secret
    assert (
        client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code
        == 200
    )
    password_step(client, "alice", PASSWORD)
    assert client.get("/api/v1/me").status_code == 401
