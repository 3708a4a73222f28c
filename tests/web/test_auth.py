"""Logging in and out: throttling, the agent's language, session handling."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from helpline.models import AgentProfile
from helpline.web import throttle
from tests.web import PASSWORD, build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db):
    return build_world(passwords=True)


def login(client, username, password=PASSWORD, **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, **extra
    )


def test_a_correct_login_opens_the_dashboard(client, world):
    response = login(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_wrong_password_is_refused_with_the_form_again(client, world):
    response = login(client, "alice", "wrong password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b'name="password"' in response.content


def test_pages_redirect_to_the_login_when_logged_out(client, world):
    url = reverse("zoom", args=[world.ticket.number])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_htmx_requests_are_told_where_to_log_in(client, world):
    response = client.post(
        reverse("presence", args=[world.ticket.number]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("login")


def test_five_failures_block_the_login_from_that_address_for_a_while(client, world):
    for _ in range(throttle.MAX_FAILURES):
        assert login(client, "alice", "guess").status_code == 200
    # Even the right password is not checked now.
    response = login(client, "alice")
    assert response.status_code == 429
    assert b"Too many failed attempts" in response.content
    assert "_auth_user_id" not in client.session
    # Another address is not blocked for the same login.
    assert login(client, "alice", REMOTE_ADDR="192.0.2.7").status_code == 302


def test_the_block_is_per_login(client, world):
    for _ in range(throttle.MAX_FAILURES):
        login(client, "alice", "guess")
    assert login(client, "bob").status_code == 302


def test_a_successful_login_forgets_earlier_failures(client, world):
    for _ in range(throttle.MAX_FAILURES - 1):
        login(client, "alice", "guess")
    assert login(client, "alice").status_code == 302
    client.post(reverse("logout"))
    for _ in range(throttle.MAX_FAILURES - 1):
        login(client, "alice", "guess")
    assert login(client, "alice").status_code == 302


def test_login_switches_to_the_agents_language(client, world):
    AgentProfile.objects.filter(user=world.alice).update(language="de")
    response = login(client, "alice")
    assert response.cookies["django_language"].value == "de"
    page = client.get(reverse("dashboard"))
    assert page["Content-Language"] == "de"
    assert b"Abmelden" in page.content
    assert "Queue-Übersicht".encode() in page.content


def test_logout_needs_a_post_and_ends_the_session(client, world):
    client.force_login(world.alice)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_session_expires_after_the_configured_age(client, world, settings):
    settings.SESSION_COOKIE_AGE = 600
    response = login(client, "alice")
    assert response.cookies["sessionid"]["max-age"] == 600


def test_a_logged_in_agent_visiting_the_login_goes_to_the_dashboard(client, world):
    client.force_login(world.alice)
    response = client.get(reverse("login"))
    assert response.status_code == 302
