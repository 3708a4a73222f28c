"""Login throttling holds against look-alike logins, spraying and parallel guessing.

Issue 13, point 6: the throttle keyed on ``login.lower()`` while Django authenticates
the NFKC form, so look-alikes of a login each had fresh counters; one password tried
against many logins was not limited at all; and parallel attempts all passed the check
before any failure was counted.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from helpline.web import throttle
from tests.web import PASSWORD, build_world, web_settings

# Spellings that Django's login form and backend turn into "alice" (NFKC after the
# form field strips), or that differ from it only in case.
LOOK_ALIKES = [
    "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth Latin letters
    "\u1d43lice",  # modifier letter small a
    "  alice\u00a0",  # surrounding spaces, a no-break space
    "al\u2170ce",  # small roman numeral one
    "ALICE",
]


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world(passwords=True)


def login(client, username, password=PASSWORD, **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, **extra
    )


@pytest.mark.parametrize("spelling", LOOK_ALIKES[:4])
def test_a_look_alike_of_a_login_logs_in_as_that_agent(client, world, spelling):
    """The premise: these spellings are the same account for Django."""
    assert login(client, spelling).status_code == 302
    assert client.session["_auth_user_id"] == str(world.alice.pk)


def test_look_alikes_of_a_login_share_its_failure_counter(client, world):
    """Failures under any spelling count for the one login: after five, even the
    right password is not checked, under any spelling."""
    for attempt in range(throttle.MAX_FAILURES):
        spelling = LOOK_ALIKES[attempt % len(LOOK_ALIKES)]
        assert login(client, spelling, "guess").status_code == 200
    assert login(client, "alice").status_code == 429
    assert login(client, LOOK_ALIKES[0]).status_code == 429
    assert "_auth_user_id" not in client.session


def test_one_password_tried_against_many_logins_is_limited_per_client(
    client, world, settings
):
    """Spraying from one address: after the per-client limit, no login from that
    address is checked, not even a right one; another address is not affected."""
    settings.HELPLINE_LOGIN_FAILURES_PER_CLIENT = 8
    for n in range(8):
        assert login(client, f"user{n}", "Summer2026!").status_code == 200
    assert login(client, "bob").status_code == 429
    assert login(Client(), "bob", REMOTE_ADDR="192.0.2.9").status_code == 302


def test_an_ipv6_client_is_counted_per_64_network(client, world, settings):
    """An attacker holding a /64 cannot get fresh counters by changing address."""
    settings.HELPLINE_LOGIN_FAILURES_PER_CLIENT = 4
    for n in range(4):
        address = f"2001:db8:1:2::{n + 1:x}"
        login(client, f"user{n}", "guess", REMOTE_ADDR=address)
    assert login(client, "bob", REMOTE_ADDR="2001:db8:1:2:ffff::1").status_code == 429
    assert login(client, "bob", REMOTE_ADDR="2001:db8:1:3::1").status_code == 302


def test_failures_across_logins_and_addresses_are_limited(client, world, settings):
    """Spraying from many addresses: past the limit on all failures, no login is
    checked anywhere until the window ends."""
    settings.HELPLINE_LOGIN_FAILURES_TOTAL = 12
    for n in range(12):
        response = login(client, f"user{n}", "guess", REMOTE_ADDR=f"198.51.100.{n}")
        assert response.status_code == 200
    assert login(Client(), "alice", REMOTE_ADDR="203.0.113.1").status_code == 429


def test_one_login_guessed_from_many_addresses_is_limited(client, world, settings):
    settings.HELPLINE_LOGIN_FAILURES_PER_LOGIN = 10
    for n in range(10):
        login(client, "alice", "guess", REMOTE_ADDR=f"198.51.100.{n}")
    assert login(Client(), "alice", REMOTE_ADDR="203.0.113.1").status_code == 429
    assert login(Client(), "bob", REMOTE_ADDR="203.0.113.1").status_code == 302


def test_a_refused_attempt_looks_the_same_for_a_login_that_does_not_exist(
    client, world
):
    """Failures and refusals say nothing about whether the login exists."""
    for name in ("alice", "nobody"):
        for _ in range(throttle.MAX_FAILURES):
            wrong = login(client, name, "guess")
            assert wrong.status_code == 200
            assert b"Please enter a correct username and password" in wrong.content
        refused = login(client, name, "guess")
        assert refused.status_code == 429
        assert b"Too many failed attempts" in refused.content


def test_the_administrations_login_is_the_throttled_one(client, world):
    """/admin/login/ checked passwords with no throttle: it now sends to /login/."""
    for _ in range(throttle.MAX_FAILURES):
        login(client, "alice", "guess")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/"
    assert "_auth_user_id" not in client.session


def test_a_forged_forwarded_for_header_gives_no_fresh_counters(client, world):
    """Without the proxy setting, X-Forwarded-For is the client's word: ignored."""
    for n in range(throttle.MAX_FAILURES):
        login(client, "alice", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    response = login(client, "alice", HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert response.status_code == 429


def test_behind_the_proxy_clients_are_told_apart_by_the_address_it_adds(
    client, world, settings
):
    """Behind HELPLINE_BEHIND_HTTPS_PROXY every request comes from the proxy; the
    client is the last X-Forwarded-For hop (what the client put before it is not
    believed)."""
    settings.HELPLINE_BEHIND_HTTPS_PROXY = True
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(throttle.MAX_FAILURES):
        forged = f"198.51.100.{n}, 192.0.2.50"
        login(client, "alice", "guess", HTTP_X_FORWARDED_FOR=forged, **proxy)
    blocked = login(client, "alice", HTTP_X_FORWARDED_FOR="192.0.2.50", **proxy)
    assert blocked.status_code == 429
    other = login(Client(), "alice", HTTP_X_FORWARDED_FOR="192.0.2.77", **proxy)
    assert other.status_code == 302


@pytest.fixture(params=["locmem", "file"])
def shared_cache(request, settings, tmp_path):
    """The local-memory cache (atomic) and the file cache of a default install
    (whose add and incr are a read then a write)."""
    if request.param == "file":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
    return request.param


def test_forty_parallel_attempts_are_all_counted(world, shared_cache):
    """Forty wrong passwords sent at once: only as many are checked as the limit
    allows, the others are refused, and the right password is refused afterwards."""
    barrier = threading.Barrier(40)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            client = Client()
            barrier.wait()
            status = login(client, "alice", "guess").status_code
            with lock:
                statuses.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 40
    assert statuses.count(200) == throttle.MAX_FAILURES
    assert statuses.count(429) == 40 - throttle.MAX_FAILURES
    assert login(Client(), "alice").status_code == 429


# --- the REST API takes tokens, not passwords: wrong tokens are counted per client ---
def wrong_token(client: Client, **extra) -> int:
    headers = {"Authorization": "Bearer hlp_not-a-token"}
    return client.get("/api/v1/me", headers=headers, **extra).status_code


def test_wrong_api_tokens_are_rate_limited_per_client(db, settings):
    settings.HELPLINE_API_RATE_LIMIT = 5
    client = Client()
    assert [wrong_token(client) for _ in range(6)] == [401] * 5 + [429]
    assert wrong_token(client, REMOTE_ADDR="192.0.2.1") == 401


def test_parallel_api_requests_are_all_counted(db, shared_cache, settings):
    """Forty requests at once against a limit of twenty: twenty are answered."""
    settings.HELPLINE_API_RATE_LIMIT = 20
    barrier = threading.Barrier(40)
    statuses: list[int] = []

    def request() -> None:
        try:
            client = Client()
            barrier.wait()
            statuses.append(wrong_token(client))  # list.append is atomic
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 20 + [429] * 20
