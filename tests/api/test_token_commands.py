"""``helpline api-token`` and ``helpline api-schema``."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from helpline.actions.api_tokens import authenticate_token
from helpline.api.openapi import document
from helpline.models import ApiToken
from tests.cli import fails, helpline, run
from tests.support import make_agent

pytestmark = pytest.mark.django_db


def test_create_prints_the_token_once_and_only_its_hash_is_kept():
    agent = make_agent("alice")
    out = run("api_token", "create", "alice", "--name", "backup", "--expires", "30")
    secret = out.strip()
    token = authenticate_token(secret)
    assert token is not None
    assert (token.agent, token.name) == (agent, "backup")
    assert 29 <= (token.expires - timezone.now()).days <= 30
    listing = run("api_token", "list", "alice")
    assert token.prefix in listing
    assert secret not in listing
    assert "active" in listing


def test_list_as_json_and_revoke():
    make_agent("alice")
    created = json.loads(run("api_token", "create", "alice", "--json"))
    assert created["token"].startswith(created["prefix"])
    out = run("api_token", "revoke", str(created["id"]))
    assert f"Token {created['id']}" in out
    assert "revoked" in out
    rows = json.loads(run("api_token", "list", "alice", "--json"))
    assert [(r["id"], r["status"]) for r in rows] == [(created["id"], "revoked")]
    assert "token" not in rows[0]
    assert authenticate_token(created["token"]) is None


def test_unknown_agents_and_tokens_are_errors_with_status_1():
    assert fails("api_token", "create", "nobody").returncode == 1
    assert fails("api_token", "revoke", "99").returncode == 1
    assert not ApiToken.objects.exists()


def test_the_console_script_takes_the_dashed_name(tmp_path):
    assert helpline(tmp_path, "migrate", "--noinput").returncode == 0
    assert (
        helpline(tmp_path, "agent", "add", "bob", "--email", "b@x.org").returncode == 0
    )
    made = helpline(tmp_path, "api-token", "create", "bob")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("hlp_")
    assert "not shown again" in made.stderr


def test_api_schema_prints_the_document():
    assert run("api_schema") == document()
