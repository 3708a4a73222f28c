"""The mail account screen in real Chromium against the private Dovecot: a wrong
password and then the right one, tested before saving; the password never comes back
into the page, and an empty field keeps the stored one."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpline.actions import admin
from helpline.models import AdminAuditEntry, MailAccount
from tests.browser.conftest import log_in
from tests.web import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_testing_and_saving_a_mail_account(page, server, dovecot, mailbox):
    user, password = mailbox
    admin.create_agent(
        "boss", email="boss@example.org", password=PASSWORD, is_admin=True
    )
    log_in(page, "boss", PASSWORD)
    page.goto("/administration/mail-accounts/")
    page.click("text=New mail account")
    page.fill("#m-name", "Support")
    page.select_option("#m-protocol", "imap")
    page.fill("#m-host", dovecot.host)
    page.fill("#m-port", str(dovecot.imap_port))
    page.fill("#m-user", user)
    page.fill("#m-password", "a-wrong-password")
    page.click("button:has-text('Test connection')")
    expect(page.locator("#test-result")).to_contain_text("The server answered:")
    assert "a-wrong-password" not in page.content()
    expect(page.locator("#m-password")).to_have_value("")
    page.fill("#m-password", password)
    page.click("button:has-text('Test connection')")
    expect(page.locator("#test-result")).to_contain_text("Connected: logged in to")
    assert password not in page.content()
    assert not MailAccount.objects.exists()
    page.fill("#m-password", password)
    page.click("button.primary:has-text('Save')")
    expect(page.locator(".msg.success")).to_contain_text("Mail account saved")
    page.click("a:has-text('Support')")
    # The stored password is used when the field is left empty.
    page.click("button:has-text('Test connection')")
    expect(page.locator("#test-result")).to_contain_text("Connected: logged in to")
    page.uncheck("input[name=valid]")
    page.click("button.primary:has-text('Save')")
    expect(page.locator(".msg.success")).to_contain_text("Mail account saved")
    account = MailAccount.objects.get()
    assert (account.password, account.valid) == (password, False)
    assert (
        AdminAuditEntry.objects.filter(
            actor_name="boss", object_type="mail account"
        ).count()
        == 2
    )
