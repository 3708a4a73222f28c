"""Security keys and passkeys in real Chromium, with its DevTools virtual
authenticator (CTAP2, built-in, user verification): adding a key under the
preferences, logging in with the password and then the key, a forged key (the right
credential id, another private key) and a removed key refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from helpline.models import WebAuthnCredential
from tests.auth import enrol, fresh_code
from tests.browser.test_two_factor import password_step
from tests.web import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def world(server, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    return build_world(passwords=True)


def authenticator(page) -> tuple[object, str]:
    """A virtual platform authenticator for ``page``'s browser context."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def add_key(page, name: str) -> None:
    page.goto("/preferences/two-factor/")
    page.get_by_label("Name of the key").fill(name)
    page.get_by_role("button", name="Add a security key").click()
    expect(page.get_by_text(f"The security key “{name}” is added.")).to_be_visible()
    expect(page.locator(".security-keys li")).to_contain_text(name)


def test_add_a_key_then_log_in_with_it(new_page, world):
    page = new_page()
    cdp, auth_id = authenticator(page)
    password_step(page, "alice")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    add_key(page, "Laptop")
    key = WebAuthnCredential.objects.get(agent=world.alice)
    assert key.name == "Laptop" and key.last_used is None
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": auth_id})
    assert len(stored["credentials"]) == 1

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
    password_step(page, "alice")
    page.wait_for_url("**/login/code/")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    page.get_by_role("button", name="Use your security key").click()
    expect(page.get_by_role("link", name="Queues", exact=True)).to_be_visible()
    key.refresh_from_db()
    assert key.last_used is not None
    assert key.sign_count >= 1


def test_a_forged_key_is_refused(new_page, world):
    page = new_page()
    authenticator(page)
    password_step(page, "alice")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    add_key(page, "Laptop")
    key = WebAuthnCredential.objects.get(agent=world.alice)

    # Another browser holds a credential with the same id but its own private key.
    other = new_page()
    cdp, auth_id = authenticator(other)
    private = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    raw_id = base64.urlsafe_b64decode(key.credential_id + "=" * 4)
    cdp.send(
        "WebAuthn.addCredential",
        {
            "authenticatorId": auth_id,
            "credential": {
                "credentialId": base64.b64encode(raw_id).decode(),
                "isResidentCredential": False,
                "rpId": "localhost",
                "privateKey": base64.b64encode(private).decode(),
                "signCount": 100,
            },
        },
    )
    password_step(other, "alice")
    other.wait_for_url("**/login/code/")
    other.get_by_role("button", name="Use your security key").click()
    expect(other.get_by_role("alert")).to_contain_text(
        "That security key was not accepted."
    )
    expect(other.get_by_role("button", name="Log out")).to_have_count(0)
    key.refresh_from_db()
    assert key.last_used is None


def test_a_removed_key_no_longer_logs_in(new_page, world):
    enrol(world.alice)
    page = new_page()
    authenticator(page)
    password_step(page, "alice")
    page.wait_for_url("**/login/code/")
    page.get_by_label("Code").fill(fresh_code(world.alice))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    add_key(page, "Laptop")

    removal = page.get_by_role("form", name="Remove a security key")
    removal.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Remove the security key").click()
    expect(page.get_by_text("The password is not right.")).to_be_visible()
    assert WebAuthnCredential.objects.filter(agent=world.alice).count() == 1
    removal.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Remove the security key").click()
    expect(page.get_by_text("The security key is removed.")).to_be_visible()
    assert not WebAuthnCredential.objects.filter(agent=world.alice).exists()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
    password_step(page, "alice")
    page.wait_for_url("**/login/code/")
    expect(page.get_by_role("button", name="Use your security key")).to_have_count(0)
    answer = page.evaluate(
        """async () => {
            const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
            const res = await fetch("/login/key/options/", {
                method: "POST", headers: {"X-CSRFToken": csrf}});
            return [res.status, await res.json()];
        }"""
    )
    assert answer == [400, {"error": "You have no security key."}]
