"""Attacks on single sign-on, against a real OpenID Connect provider (oidc-provider
under node, tests/oidc_provider.py): each token here was issued by the provider, and
each refusal is Helpline's own check."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from helpline.actions import admin
from tests.oidc_provider import Browser, configure, running_provider, sign_in

PENDING = "helpline_oidc"


@pytest.fixture(scope="module")
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture
def sso(settings, provider, db):
    configure(settings, provider)
    return provider


def started(client: Client, login: str) -> tuple[str, dict]:
    """A flow started by ``client`` and completed at the provider as ``login``: the
    callback path (not yet visited) and what the client's session keeps."""
    start = client.get("/sso/login/")
    callback = Browser().authorize(start["Location"], login)
    return callback.removeprefix("http://testserver"), dict(client.session[PENDING])


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def plant(client: Client, pending: dict) -> None:
    session = client.session
    session[PENDING] = pending
    session.save()


def test_login_csrf_a_callback_the_browser_did_not_start_is_refused(sso):
    admin.create_agent("bob", email="bob@example.org")
    attacker = Client()
    callback, _pending = started(attacker, "bob")

    victim = Client()
    answer = victim.get(callback)  # e.g. an <img> on the attacker's page
    assert answer.status_code == 403
    assert b"not started here" in answer.content
    assert not signed_in(victim)

    # Nor when the victim has a sign-in of its own under way: the states differ.
    victim.get("/sso/login/")
    assert victim.get(callback).status_code == 403
    assert not signed_in(victim)


def test_a_callback_replayed_after_the_sign_in_is_refused(sso, caplog):
    client = Client()
    callback, pending = started(client, "alice")
    assert client.get(callback).status_code == 302
    assert signed_in(client)
    # The same browser again: the state was used up.
    assert client.get(callback).status_code == 403

    # Another browser holding everything the first one had (state, nonce, verifier):
    # the provider refuses the used code, and Helpline refuses the sign-in.
    thief = Client()
    plant(thief, pending)
    with caplog.at_level("WARNING", logger="helpline.sso"):
        answer = thief.get(callback)
    assert "invalid_grant" in caplog.text
    assert answer.status_code == 403
    assert b"refused the sign-in" in answer.content
    assert not signed_in(thief)


def test_an_id_token_for_another_nonce_is_refused(sso, caplog):
    """A real, valid token whose nonce is not the session's (a replayed token)."""
    first = Client()
    callback, pending = started(first, "alice")
    second = Client()
    plant(second, {**pending, "nonce": "another-sign-in-nonce"})
    with caplog.at_level("WARNING", logger="helpline.sso"):
        answer = second.get(callback)
    assert "claim: 'nonce'" in caplog.text
    assert answer.status_code == 403
    assert b"could not be verified" in answer.content
    assert not signed_in(second)
    assert not get_user_model().objects.filter(username="alice").exists()


def test_the_session_key_changes_at_sign_in(sso):
    """Session fixation: a key the attacker planted before the sign-in is worthless
    after it."""
    victim = Client()
    victim.get("/sso/login/")
    planted = victim.session.session_key
    assert planted
    callback, _ = started(victim, "alice")
    assert victim.get(callback).status_code == 302
    assert signed_in(victim)
    assert victim.session.session_key != planted
    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    assert "_auth_user_id" not in store(session_key=planted).load()
    attacker = Client()
    attacker.cookies[django_settings.SESSION_COOKIE_NAME] = planted
    assert attacker.get("/")["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("login", "why", "check"),
    [
        ("mallory", "a claim altered after signing", "BadSignatureError"),
        ("ivan", "signed with the provider's key, another issuer", "claim: 'iss'"),
        ("eve", "signed with the provider's key, expired an hour ago", "ExpiredToken"),
    ],
)
def test_bad_id_tokens_are_refused(sso, caplog, login, why, check):
    client = Client()
    with caplog.at_level("WARNING", logger="helpline.sso"):
        answer = sign_in(client, login)
    # The check that refused it is the one meant (not some other failure).
    assert check in caplog.text, caplog.text
    assert answer.status_code == 403, why
    assert b"could not be verified" in answer.content
    assert b"Traceback" not in answer.content
    assert not signed_in(client)
    assert not get_user_model().objects.filter(username=login).exists()


def test_the_same_accounts_sign_in_when_nothing_is_altered(sso, settings):
    """The control for the test above: the refusals come from the alterations."""
    client = Client()
    assert sign_in(client, "alice").status_code == 302
    assert signed_in(client)


def test_a_foreign_next_is_not_followed(sso):
    client = Client()
    start = client.get("/sso/login/?next=https://evil.example/")
    callback = Browser().authorize(start["Location"], "alice")
    answer = client.get(callback.removeprefix("http://testserver"))
    assert answer["Location"] == "/"


@pytest.mark.django_db
def test_password_login_off_and_break_glass(client, settings):
    admin.create_agent("root", email="root@example.org", password="A-long-pw-4-root!")
    admin.create_agent("carl", email="carl@example.org", password="A-long-pw-4-carl!")
    settings.HELPLINE_PASSWORD_LOGIN = "breakglass"
    settings.HELPLINE_BREAKGLASS_LOGINS = ["root"]
    refused = client.post(
        "/login/", {"username": "carl", "password": "A-long-pw-4-carl!"}
    )
    assert refused.status_code == 200
    assert not signed_in(client)
    page = client.get("/login/")
    assert b'id="password-login-breakglass"' in page.content
    assert (
        client.post(
            "/login/", {"username": "root", "password": "A-long-pw-4-root!"}
        ).status_code
        == 302
    )
    assert signed_in(client)

    client.post("/logout/")
    settings.HELPLINE_PASSWORD_LOGIN = "off"
    assert b'id="password-login-off"' in client.get("/login/").content
    client.post("/login/", {"username": "root", "password": "A-long-pw-4-root!"})
    assert not signed_in(client)


def test_a_break_glass_login_cannot_be_taken_by_single_sign_on(sso, settings):
    """The provider's "alice" must not become Helpline's emergency account "alice"."""
    admin.create_agent("alice", email="root@example.org", is_admin=True)
    settings.HELPLINE_PASSWORD_LOGIN = "breakglass"
    settings.HELPLINE_BREAKGLASS_LOGINS = ["alice"]
    client = Client()
    answer = sign_in(client, "alice")
    assert answer.status_code == 403
    assert b"signs in with its password only" in answer.content
    assert not signed_in(client)


def test_a_switched_off_agent_cannot_sign_in(sso):
    alice = admin.create_agent("alice", email="alice@example.org")
    alice.is_active = False
    alice.save()
    client = Client()
    answer = sign_in(client, "alice")
    assert answer.status_code == 403
    assert b"switched off" in answer.content
    assert not signed_in(client)
