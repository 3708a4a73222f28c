"""Two-factor authentication in real Chromium: setting it up as a person would (the
secret read off the page, the code typed), logging in with a code and with a
recovery code, and a policy sending an agent to set it up before anything else.
Keyboard only on the login steps; fields found by their labels."""

from __future__ import annotations

import base64
import time

import pytest
from playwright.sync_api import expect

from helpline.actions import admin
from helpline.models import TwoFactorPolicy
from tests.auth import enrol, fresh_code
from tests.web import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def world(server, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    return build_world(passwords=True)


def app_code(secret: str, *, step_offset: int = 0) -> str:
    """What an authenticator app shows for the secret typed in by hand."""
    from django_otp.oath import hotp

    key = base64.b32decode(secret.replace(" ", ""))
    return f"{hotp(key, int(time.time()) // 30 + step_offset):06d}"


def password_step(page, login: str) -> None:
    page.goto("/login/")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")


def test_set_up_then_log_in_with_a_code_using_the_keyboard(page, world):
    password_step(page, "alice")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto("/preferences/")
    page.get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("link", name="Set up two-factor authentication").click()
    page.wait_for_url("**/preferences/two-factor/setup/")
    expect(
        page.get_by_role("img", name="QR code of your two-factor secret")
    ).to_be_visible()
    secret = page.locator("#secret").inner_text()
    code = page.get_by_label("Enter the code the app shows now")
    expect(code).to_be_focused()
    page.keyboard.type(app_code(secret, step_offset=-1))
    page.keyboard.press("Enter")
    page.wait_for_url("**/preferences/two-factor/codes/")
    codes = page.locator(".recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")

    password_step(page, "alice")
    page.wait_for_url("**/login/code/")
    field = page.get_by_label("Code")
    expect(field).to_be_focused()
    page.keyboard.type(fresh_code(world.alice))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Verify")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Queues", exact=True)).to_be_visible()


def test_a_wrong_code_is_announced_and_a_recovery_code_logs_in(page, world):
    codes = enrol(world.alice)
    password_step(page, "alice")
    page.wait_for_url("**/login/code/")
    page.get_by_label("Code").fill(
        "000000" if fresh_code(world.alice) != "000000" else "111111"
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("That code is not right.")
    page.get_by_label("Code").fill(f"{codes[0][:4]}-{codes[0][4:]}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("9 are left")


def test_a_policy_sends_the_agent_to_set_up_before_any_ticket(page, world):
    admin.save_configuration(
        None,
        TwoFactorPolicy(name="Support", group=world.info.group),
        changed=["name"],
    )
    password_step(page, "alice")
    page.wait_for_url("**/preferences/two-factor/setup/")
    expect(page.get_by_text("Your administrators require two-factor")).to_be_visible()
    page.goto(f"/ticket/{world.ticket.number}/")
    page.wait_for_url("**/preferences/two-factor/setup/")
    secret = page.locator("#secret").inner_text()
    page.get_by_label("Enter the code the app shows now").fill(app_code(secret))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/preferences/two-factor/codes/")
    page.goto(f"/ticket/{world.ticket.number}/")
    expect(page.locator(".articles")).to_contain_text("Hello, I have a question.")
