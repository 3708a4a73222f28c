"""API token scopes (read or read-write) and expiry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from helpline.actions.api_tokens import authenticate_token, create_token
from helpline.errors import InvalidInput
from helpline.models import ApiToken
from tests.api.conftest import ApiClient, error_code
from tests.cli import run
from tests.support import make_agent, make_ticket


@pytest.fixture
def desk(world):
    ticket = make_ticket(world.info)
    read = ApiClient(create_token(world.alice, scope="read").secret)
    write = ApiClient(create_token(world.alice).secret)
    return ticket, read, write


def test_a_read_token_reads(desk):
    ticket, read, _write = desk
    assert read.get(f"/tickets/{ticket.number}").status_code == 200
    assert read.get("/queues").status_code == 200


def test_a_read_token_changes_nothing(desk):
    ticket, read, write = desk
    refused = read.post(f"/tickets/{ticket.number}/archive")
    assert refused.status_code == 403
    assert error_code(refused) == "insufficient_scope"
    assert 'error="insufficient_scope"' in refused["WWW-Authenticate"]
    ticket.refresh_from_db()
    assert not ticket.archived
    # The read-write token gets through to the domain, which has its own say (an
    # open ticket does not archive).
    passed = write.post(f"/tickets/{ticket.number}/archive")
    assert (passed.status_code, error_code(passed)) == (422, "invalid")


def test_tokens_are_read_write_unless_told(db):
    agent = make_agent("carol")
    assert create_token(agent).token.scope == "write"
    with pytest.raises(InvalidInput):
        create_token(agent, scope="admin")


def test_the_command_makes_read_tokens_and_lists_the_scope(db):
    make_agent("carol")
    created = json.loads(
        run("api_token", "create", "carol", "--scope", "read", "--json")
    )
    assert created["scope"] == "read"
    assert ApiToken.objects.get(pk=created["id"]).scope == "read"
    [row] = json.loads(run("api_token", "list", "carol", "--json"))
    assert row["scope"] == "read"


def test_an_expired_token_is_refused(db):
    agent = make_agent("carol")
    issued = create_token(agent, expires_in_days=1)
    assert authenticate_token(issued.secret) is not None
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert authenticate_token(issued.secret) is None
