"""Attacks on sessions and on the password reset (docs/authentication.md).

- session fixation: a key planted before the login is not the key after it;
- a deactivated agent's sessions and API tokens stop working at once;
- a reset link works once, expires, and the reset form never tells whether an
  address belongs to an agent (same status, same page, throttled alike);
- reset requests are throttled per address and per client.
"""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from tests.auth_sessions import ask_reset, link_in, log_in, reset_mails
from tests.web import build_world, web_settings

NEW = "another long pass phrase"


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)
    cache.clear()


@pytest.fixture
def world(db):
    return build_world(passwords=True)


def _logged_in(client):
    return client.get(reverse("dashboard")).status_code == 200


def test_a_session_key_planted_before_login_is_not_the_key_after_it(world):
    attacker = Client()
    attacker.get(reverse("password-reset"))
    attacker.post(reverse("password-reset"), {"email": "x@example.org"})
    # The attacker's anonymous session (the throttle does not need one: make one).
    session = attacker.session
    session["planted"] = True
    session.save()
    planted = session.session_key
    victim = Client()
    victim.cookies[django_settings.SESSION_COOKIE_NAME] = planted
    log_in(victim, "alice")
    after = victim.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert after != planted
    # The planted key opens nothing.
    attacker.cookies[django_settings.SESSION_COOKIE_NAME] = planted
    assert not _logged_in(attacker)
    assert _logged_in(victim)


def test_a_deactivated_agents_sessions_and_tokens_die_at_once(world):
    browser = Client()
    log_in(browser, "alice")
    token = create_token(world.alice, name="script").secret
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/queues").status_code == 200
    assert _logged_in(browser)
    admin.set_agent_active(None, world.alice, active=False)
    assert not _logged_in(browser)
    assert api.get("/api/v1/queues").status_code == 401
    # Activating the agent again does not bring the old session back.
    admin.set_agent_active(None, world.alice, active=True)
    assert not _logged_in(browser)


def test_a_stolen_session_cookie_dies_with_logout_all(world):
    browser = Client()
    log_in(browser, "alice")
    thief = Client()
    thief.cookies[django_settings.SESSION_COOKIE_NAME] = browser.cookies[
        django_settings.SESSION_COOKIE_NAME
    ].value
    assert _logged_in(thief)
    from helpline.actions.sessions import log_out_everywhere

    log_out_everywhere(None, world.alice)
    assert not _logged_in(thief)
    assert not _logged_in(browser)


def _use(path, password=NEW):
    client = Client()
    page = client.get(path, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else path
    done = client.post(form_url, {"new_password1": password, "new_password2": password})
    return page, done


def test_a_reset_link_works_once(world):
    ask_reset(Client(), "alice@example.org")
    [raw] = reset_mails("alice@example.org")
    path = link_in(raw)
    _page, done = _use(path)
    assert done.status_code == 302
    page, again = _use(path, "a third long pass phrase")
    assert page.context["validlink"] is False
    assert "does not work" in page.content.decode()
    world.alice.refresh_from_db()
    assert world.alice.check_password(NEW)


def test_a_reset_link_stops_working_after_a_login(world):
    ask_reset(Client(), "alice@example.org")
    [raw] = reset_mails("alice@example.org")
    log_in(Client(), "alice")  # last_login changes: the token with it
    page, _done = _use(link_in(raw))
    assert page.context["validlink"] is False


def test_an_expired_reset_link_is_refused(world, settings):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    uid = urlsafe_base64_encode(force_bytes(world.alice.pk))
    gen = default_token_generator
    issued = gen._num_seconds(gen._now()) - 3601
    token = gen._make_token_with_timestamp(world.alice, issued, gen.secret)
    page, done = _use(reverse("password-reset-confirm", args=[uid, token]))
    assert page.context["validlink"] is False
    world.alice.refresh_from_db()
    assert not world.alice.check_password(NEW)
    fresh = gen.make_token(world.alice)
    page, done = _use(reverse("password-reset-confirm", args=[uid, fresh]))
    assert page.context["validlink"] is True


def test_a_forged_reset_token_is_refused(world):
    uid = urlsafe_base64_encode(force_bytes(world.alice.pk))
    page, _done = _use(reverse("password-reset-confirm", args=[uid, "abc-123"]))
    assert page.context["validlink"] is False


def _answer(email):
    """The status and the page, less the per-request CSRF token and CSP nonce."""
    response = ask_reset(Client(), email)
    page = re.sub(rb"[A-Za-z0-9+/=_-]{20,}", b"*", response.content)
    return response.status_code, page


def test_the_reset_form_answers_the_same_whether_the_address_exists(world):
    known = _answer("alice@example.org")
    unknown = _answer("nobody-here@example.org")
    assert known == unknown
    assert known[0] == 200
    assert len(reset_mails("alice@example.org")) == 1
    # Timing: no password hashing either way, only queueing a row for a known
    # address (a few milliseconds; the bound is loose for a busy CI machine).
    for email in ("alice@example.org", "nobody-here@example.org"):
        cache.clear()
        start = time.perf_counter()
        ask_reset(Client(), email)
        assert time.perf_counter() - start < 0.5


def test_reset_requests_are_throttled_per_address_alike_for_unknown_ones(
    world, settings
):
    settings.HELPLINE_PASSWORD_RESETS_PER_ADDRESS = 3
    settings.HELPLINE_PASSWORD_RESETS_PER_CLIENT = 100
    for email in ("alice@example.org", "nobody-here@example.org"):
        answers = [
            ask_reset(Client(REMOTE_ADDR=f"192.0.2.{i}"), email).status_code
            for i in range(5)
        ]
        assert answers == [200, 200, 200, 429, 429]
    # Three mails at most reached alice, whoever asked.
    assert len(reset_mails("alice@example.org")) == 3
    # Another address is not held off.
    assert ask_reset(Client(), "bob@example.org").status_code == 200


def test_reset_requests_are_throttled_per_client(world, settings):
    settings.HELPLINE_PASSWORD_RESETS_PER_CLIENT = 4
    client = Client(REMOTE_ADDR="198.51.100.20")
    answers = [ask_reset(client, f"guess{i}@example.org").status_code for i in range(6)]
    assert answers == [200, 200, 200, 200, 429, 429]
    assert (
        ask_reset(Client(REMOTE_ADDR="198.51.100.21"), "a@example.org").status_code
        == 200
    )
    refused = ask_reset(client, "alice@example.org")
    assert refused.status_code == 429
    assert reset_mails("alice@example.org") == []
