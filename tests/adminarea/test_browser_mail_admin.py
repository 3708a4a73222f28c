"""Mail and states in real Chromium: every screen at 400 px without sideways
scrolling, a filter written with the keyboard only, a bad regular expression shown on
the form, a state that must stay active explained."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpline.actions import admin, mail_admin
from helpline.actions.mail_admin import AccountSettings
from helpline.models import AdminAuditEntry, PostmasterFilter, TicketState
from tests.browser.conftest import log_in
from tests.web import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def boss(server):
    return admin.create_agent(
        "boss", email="boss@example.org", password=PASSWORD, is_admin=True
    )


def test_every_screen_is_usable_at_400_px(new_page, boss):
    queue = admin.create_queue(
        "A queue with a rather long name for a narrow screen",
        group=admin.create_group("Support"),
        email="a-long-address-for-a-narrow-screen@example.org",
    )
    account = mail_admin.save_account(
        boss,
        None,
        AccountSettings(
            name="A mailbox with a long name",
            protocol="imaps",
            host="imap.a-very-long-host-name.example.org",
            username="someone-with-a-long-login",
            password="secret",
            queue=queue,
        ),
    )
    flt = PostmasterFilter.objects.create(
        name="Spam",
        matches=[{"header": "X-Spam-Status", "regex": "^Yes, score=(\\d+)"}],
        sets={"queue": queue.name, "ignore": True},
    )
    state = TicketState.objects.get(name="open")
    address = queue.addresses.get()
    page = new_page(viewport={"width": 400, "height": 800})
    log_in(page, "boss", PASSWORD)
    page.click("header >> text=Mail and states")
    expect(page.locator("h1")).to_have_text("Mail and states")
    for url in (
        "/administration/mail/",
        "/administration/addresses/",
        f"/administration/addresses/{address.pk}/",
        "/administration/mail-accounts/",
        f"/administration/mail-accounts/{account.pk}/",
        "/administration/filters/",
        f"/administration/filters/{flt.pk}/",
        "/administration/filters/new/",
        "/administration/states/",
        f"/administration/states/{state.pk}/",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, (url, width)


def test_a_filter_written_with_the_keyboard(page, boss):
    admin.create_queue("Junk", group=admin.create_group("Support"))
    log_in(page, "boss", PASSWORD)
    page.goto("/administration/filters/new/")
    page.focus("#p-name")
    page.keyboard.type("Spam to Junk")
    page.keyboard.press("Tab")  # order
    page.keyboard.press("Tab")  # the first condition's header
    page.keyboard.type("Subject")
    page.keyboard.press("Tab")  # how it compares
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # matches the regular expression
    page.keyboard.press("Tab")
    page.keyboard.type("([a-z")
    page.focus("#s-queue")
    page.keyboard.type("Junk")
    page.keyboard.press("Enter")  # the form's default button: Save
    expect(page.locator("[role=alert]")).to_contain_text(
        "is not a valid regular expression"
    )
    assert not PostmasterFilter.objects.exists()
    page.focus("#c0-value")
    page.keyboard.press("Control+a")
    page.keyboard.type("\\[spam\\]")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.success")).to_contain_text("Filter saved")
    flt = PostmasterFilter.objects.get()
    assert flt.matches == [{"header": "Subject", "regex": "\\[spam\\]"}]
    assert flt.sets == {"queue": "Junk"}
    assert AdminAuditEntry.objects.filter(
        actor_name="boss", object_type="postmaster filter", action="created"
    ).exists()
    # Another condition without JavaScript: the button posts back one more row.
    page.click(f"a:has-text('{flt.name}')")
    page.fill("#c1-header", "From")
    page.click("button:has-text('Add a condition')")
    expect(page.locator("#c2-header")).to_be_visible()
    page.fill("#c1-value", "example.net")
    page.click("button.primary:has-text('Save')")
    expect(page.locator(".msg.success")).to_contain_text("Filter saved")
    flt.refresh_from_db()
    assert flt.matches[1] == {"header": "From", "regex": "example\\.net"}


def test_a_state_that_must_stay_says_why(page, boss):
    log_in(page, "boss", PASSWORD)
    page.goto("/administration/states/")
    page.click("a:has-text('merged')")
    expect(page.locator("#state-needed")).to_contain_text("Helpline itself uses")
    page.uncheck("input[name=valid]")
    page.click("button.primary:has-text('Save')")
    expect(page.locator("[role=alert]")).to_contain_text("merged stays valid")
    assert TicketState.objects.get(name="merged").valid
