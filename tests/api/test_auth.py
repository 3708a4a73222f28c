"""Bearer tokens (hashed, expiring, revocable), the browser session, the rate limit."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from helpline.actions.api_tokens import authenticate_token, create_token, revoke_token
from helpline.errors import InvalidInput, NotFound
from helpline.models import ApiToken
from tests.api.conftest import ApiClient, error_code
from tests.support import make_agent, make_ticket

pytestmark = pytest.mark.django_db


# --- tokens -------------------------------------------------------------------------
def test_a_token_is_kept_only_as_its_sha256_and_a_short_prefix(desk):
    issued = create_token(desk.agent, name="backup script")
    row = ApiToken.objects.get(pk=issued.token.pk)
    stored = [str(getattr(row, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert not any(issued.secret in value for value in stored)
    assert row.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret.startswith(row.prefix)
    assert len(row.prefix) < len(issued.secret) // 3
    assert ApiClient(issued.secret).get("/me").json()["login"] == "alice"


def test_every_token_is_different(desk):
    secrets = {create_token(desk.agent).secret for _ in range(20)}
    assert len(secrets) == 20


def test_without_credentials_the_answer_is_401_json_asking_for_a_bearer_token(desk):
    response = ApiClient(None).get("/tickets")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "token",
    ["hlp_not-a-real-token", "not-even-the-format", "hlp_" + "x" * 300, ""],
)
def test_a_wrong_token_is_401_invalid_token(desk, token):
    response = ApiClient(token).get("/me")
    assert response.status_code == 401
    assert error_code(response) in ("invalid_token", "unauthenticated")
    assert "Traceback" not in response.content.decode()


def test_an_expired_token_is_refused(desk):
    issued = create_token(desk.agent, expires_in_days=30)
    api = ApiClient(issued.secret)
    assert api.get("/me").status_code == 200
    # Thirty days pass.
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    response = api.get("/me")
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_a_revoked_token_is_refused_and_revoking_twice_keeps_the_first_time(desk):
    issued = create_token(desk.agent)
    api = ApiClient(issued.secret)
    assert api.get("/me").status_code == 200
    first = revoke_token(issued.token.pk).revoked
    assert first is not None
    assert revoke_token(issued.token.pk).revoked == first
    response = api.get("/me")
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_an_agent_revokes_only_their_own_tokens(desk):
    other = create_token(make_agent("bob"))
    with pytest.raises(NotFound):
        revoke_token(other.token.pk, agent=desk.agent)
    assert ApiClient(other.secret).get("/me").status_code == 200


def test_the_token_of_a_switched_off_agent_is_refused(desk):
    desk.agent.is_active = False
    desk.agent.save(update_fields=["is_active"])
    response = desk.api.get("/me")
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_no_token_is_issued_to_a_switched_off_agent_nor_for_ten_years_and_more(desk):
    with pytest.raises(InvalidInput):
        create_token(desk.agent, expires_in_days=4000)
    desk.agent.is_active = False
    with pytest.raises(InvalidInput):
        create_token(desk.agent)


def test_a_wrong_token_is_not_rescued_by_a_logged_in_session(desk):
    client = Client()
    client.force_login(desk.agent)
    response = ApiClient("hlp_wrong", client).get("/me")
    assert response.status_code == 401


def test_last_used_is_written_at_most_once_a_minute(desk):
    issued = create_token(desk.agent)
    assert issued.token.last_used is None
    authenticate_token(issued.secret)
    first = ApiToken.objects.get(pk=issued.token.pk).last_used
    assert first is not None
    authenticate_token(issued.secret)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used == first
    long_ago = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used=long_ago)
    authenticate_token(issued.secret)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used > long_ago


# --- the browser session ------------------------------------------------------------
def _session_client(agent, csrf: str | None = None) -> ApiClient:
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    if csrf is not None:
        client.cookies["csrftoken"] = csrf
    return ApiClient(None, client)


def test_the_web_interface_session_reads_without_a_token(desk):
    me = _session_client(desk.agent).get("/me").json()
    assert me["auth"] == "session"
    assert me["token"] is None


def test_a_session_write_without_the_csrf_token_is_refused(desk):
    ticket = make_ticket(desk.queue)
    api = _session_client(desk.agent)
    response = api.post(
        f"/tickets/{ticket.number}/articles", {"kind": "note", "text": "x"}
    )
    assert response.status_code == 403
    assert error_code(response) == "csrf_failed"
    assert not ticket.articles.filter(body_text="x").exists()


def test_a_session_write_with_the_csrf_token_is_done(desk):
    ticket = make_ticket(desk.queue)
    csrf = _get_new_csrf_string()
    api = _session_client(desk.agent, csrf)
    response = api.post(
        f"/tickets/{ticket.number}/articles",
        {"kind": "note", "text": "from the page"},
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201
    assert ticket.articles.filter(body_text="from the page").exists()


def test_a_token_needs_no_csrf_token(desk):
    ticket = make_ticket(desk.queue)
    desk.api.client = Client(enforce_csrf_checks=True)
    response = desk.api.post(
        f"/tickets/{ticket.number}/articles", {"kind": "note", "text": "x"}
    )
    assert response.status_code == 201


# --- rate limit ---------------------------------------------------------------------
def test_past_the_limit_a_token_gets_429_with_retry_after(desk, settings):
    settings.HELPLINE_API_RATE_LIMIT = 3
    for _ in range(3):
        assert desk.api.get("/me").status_code == 200
    response = desk.api.get("/me")
    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another token of the same agent has its own count.
    assert ApiClient(create_token(desk.agent).secret).get("/me").status_code == 200


def test_the_session_is_limited_per_agent(desk, settings):
    settings.HELPLINE_API_RATE_LIMIT = 2
    api = _session_client(desk.agent)
    assert [api.get("/me").status_code for _ in range(3)] == [200, 200, 429]


def test_a_limit_of_zero_switches_the_limit_off(desk, settings):
    settings.HELPLINE_API_RATE_LIMIT = 0
    assert {desk.api.get("/me").status_code for _ in range(20)} == {200}
