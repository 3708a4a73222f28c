"""Security keys on the server side: a key counts as a second factor for the login
and the policies, the reset removes it, the last key stays while a policy requires a
second factor, and forged assertions are refused and throttled like wrong codes.

Signatures by a real authenticator are tested in tests/browser/test_webauthn.py
(Chromium's virtual authenticator); here a stored key stands for one registered."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from webauthn.helpers import bytes_to_base64url

from helpline.actions import twofactor, webauthn
from helpline.errors import PermissionDenied
from helpline.models import TwoFactorPolicy, WebAuthnCredential
from helpline.web.twofactor import VERIFIED
from tests.auth import password_step
from tests.web import PASSWORD


def a_key(agent, name="Laptop"):
    return WebAuthnCredential.objects.create(
        agent=agent,
        name=name,
        credential_id=bytes_to_base64url(f"key {agent.pk} {name}".encode()),
        public_key=b"\xa5\x01\x02",
        sign_count=3,
    )


def test_a_key_is_a_second_factor_at_login(world):
    assert not twofactor.has_two_factor(world.alice)
    a_key(world.alice)
    assert twofactor.has_two_factor(world.alice)
    assert twofactor.two_factor_state(world.alice).enrolled
    client = Client()
    assert password_step(client, "alice", PASSWORD)["Location"] == reverse("login-code")
    page = client.get(reverse("login-code")).content.decode()
    assert "Use your security key" in page
    options = client.post(reverse("login-key-options"))
    assert options.status_code == 200
    data = options.json()
    assert data["rpId"] == "testserver"
    assert data["userVerification"] == "preferred"
    assert [c["id"] for c in data["allowCredentials"]] == [
        bytes_to_base64url(f"key {world.alice.pk} Laptop".encode())
    ]


def test_without_the_password_step_no_options(world):
    a_key(world.alice)
    response = Client().post(reverse("login-key-options"))
    assert response.status_code == 400
    assert (
        Client().post(reverse("login-key"), "{}", "application/json").status_code == 400
    )


def test_forged_assertions_are_refused_then_throttled(world):
    key = a_key(world.alice)
    client = Client()
    password_step(client, "alice", PASSWORD)
    forged = {
        "id": key.credential_id,
        "rawId": key.credential_id,
        "type": "public-key",
        "response": {
            "clientDataJSON": "e30",
            "authenticatorData": "AA",
            "signature": "AA",
        },
    }
    statuses = []
    for _ in range(6):
        client.post(reverse("login-key-options"))
        response = client.post(
            reverse("login-key"), json.dumps({"credential": forged}), "application/json"
        )
        statuses.append(response.status_code)
    assert statuses == [400] * 5 + [429]
    assert "_auth_user_id" not in client.session
    key.refresh_from_db()
    assert key.sign_count == 3 and key.last_used is None


def test_the_reset_removes_keys(world, capsys):
    a_key(world.alice)
    call_command("agent", "2fa-reset", "alice")
    assert not WebAuthnCredential.objects.filter(agent=world.alice).exists()
    assert not twofactor.has_two_factor(world.alice)


def test_removing_needs_the_password_and_keeps_the_last_key_a_policy_requires(world):
    first, second = a_key(world.alice), a_key(world.alice, "Phone")
    with pytest.raises(PermissionDenied):
        webauthn.remove_key(world.alice, first.pk, password="wrong")
    world.alice.is_staff = True
    world.alice.save()
    TwoFactorPolicy.objects.create(name="admins", administrators=True)
    webauthn.remove_key(world.alice, first.pk, password=PASSWORD)
    with pytest.raises(PermissionDenied, match="last key"):
        webauthn.remove_key(world.alice, second.pk, password=PASSWORD)
    assert list(WebAuthnCredential.objects.filter(agent=world.alice)) == [second]


def test_the_agents_screen_counts_a_key(admin_client, world):
    a_key(world.alice)
    page = admin_client.get(
        reverse("admin:helpline_agentaccount_changelist")
    ).content.decode()
    row = next(r for r in page.split("<tr") if ">alice<" in r)
    cell = row.split('class="field-two_factor_column"', 1)[1].split("</td>")[0]
    assert 'alt="True"' in cell


def test_the_key_screens_in_german(world, client):
    a_key(world.alice)
    password_step(client, "alice", PASSWORD)
    page = client.get(reverse("login-code"), HTTP_ACCEPT_LANGUAGE="de")
    assert "Ihren Sicherheitsschlüssel benutzen" in page.content.decode()
    client.force_login(world.alice)
    session = client.session
    session[VERIFIED] = True  # as after the second step
    session.save()
    client.cookies["django_language"] = "de"
    prefs = client.get(reverse("two-factor"), HTTP_ACCEPT_LANGUAGE="de")
    html = prefs.content.decode()
    assert "Sicherheitsschlüssel hinzufügen" in html
    assert ">Laptop <" in html and "Add a security key" not in html
