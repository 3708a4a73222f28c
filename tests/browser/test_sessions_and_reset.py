"""Password reset and ending another session, in real Chromium, by keyboard and by
the names a screen reader announces (labels, roles)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpline.mail import outbound
from tests.auth_sessions import link_in, reset_mails
from tests.browser.conftest import log_in
from tests.web import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NEW = "a fresh long pass phrase"


@pytest.fixture
def world(server):
    return build_world(passwords=True)


def test_a_forgotten_password_is_reset_by_mail_with_the_keyboard(
    page, world, smtp_sink
):
    page.goto("/login/")
    page.get_by_role("link", name="Forgot your password?").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/password-reset/")
    page.get_by_label("Email address").fill("alice@example.org")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()

    # Sent through the outbox: at once by the job its commit started, or now.
    outbound.send_due()
    [received] = smtp_sink.received
    assert received.rcpt_tos == ["alice@example.org"]
    [raw] = reset_mails("alice@example.org")
    link = link_in(raw)

    page.goto(link)
    # The token left the address bar (no Referer leak from the form page).
    assert link.rsplit("/", 2)[-2] not in page.url
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert").first).to_contain_text("too short")

    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password confirmation").fill(NEW)
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()

    # The link is spent; the new password logs in, the old one does not.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("does not work")
    log_in(page, "alice", NEW)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_an_agent_ends_its_session_on_another_device(new_page, world):
    laptop = new_page(user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    phone = new_page(
        user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/130.0.0.0 Mobile"
    )
    log_in(laptop, "alice", PASSWORD)
    log_in(phone, "alice", PASSWORD)

    laptop.goto("/preferences/")
    laptop.get_by_role("link", name="Your sessions: where you are logged in").click()
    table = laptop.get_by_role("table", name="Your sessions")
    expect(table).to_contain_text("Firefox on Linux")
    expect(table).to_contain_text("this session")
    expect(table).to_contain_text("Chrome on Android")
    end = laptop.get_by_role("button", name="End the session of Chrome on Android")
    end.focus()
    laptop.keyboard.press("Enter")
    expect(laptop.get_by_role("status")).to_contain_text("The session was ended.")
    expect(table).not_to_contain_text("Chrome on Android")

    phone.goto("/queues/")
    phone.wait_for_url("**/login/**")
    expect(phone.get_by_label("Login")).to_be_visible()
    laptop.goto("/queues/")
    expect(laptop.get_by_role("navigation", name="Main")).to_be_visible()
