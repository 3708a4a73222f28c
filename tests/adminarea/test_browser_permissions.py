"""The permission screens in real Chromium: 500 agents changed in one save, and the
screens usable at 400 px."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from helpline.actions import admin
from helpline.models import AdminAuditEntry, Grant
from tests.auth_sessions import reset_mails, text_of
from tests.browser.conftest import log_in
from tests.web import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
NEW_PASSWORD = "a long new password for the invitee"


@pytest.fixture
def boss(server):
    return admin.create_agent(
        "boss", email="boss@example.org", password=PASSWORD, is_admin=True
    )


def test_five_hundred_agents_saved_in_one_go(page, boss):
    group = admin.create_group("Support")
    users = get_user_model()
    users.objects.bulk_create(
        [
            users(username=f"agent{i:03}", email=f"agent{i:03}@example.org")
            for i in range(500)
        ]
    )
    log_in(page, "boss", PASSWORD)
    page.click("text=Permissions")
    page.fill("#f-q", "Support")
    page.click("button:has-text('Find')")
    page.click("a:has-text('Support')")
    page.select_option("#f-per-page", "500")
    page.fill("#f-q", "agent")
    page.click("form[aria-label=Filters] button[type=submit]")
    expect(page.locator("#grants-count")).to_contain_text("500")
    page.click("button[data-column=ro]")
    expect(page.locator("[data-pending]")).to_contain_text("500")
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.click("button[data-save]")
    # One field with the changes (and the CSRF token), not a field per checkbox.
    assert sorted(posted.value.post_data_json) == ["changes", "csrfmiddlewaretoken"]
    expect(page.locator(".msg.success")).to_contain_text("500 changes")
    assert Grant.objects.filter(group=group, permission="ro").count() == 500
    assert (
        AdminAuditEntry.objects.filter(action="granted", actor_name="boss").count()
        == 500
    )
    # Taking them back is one save too.
    page.click("button[data-column=ro]")
    page.click("button[data-save]")
    expect(page.locator(".msg.success")).to_contain_text("500 changes")
    assert not Grant.objects.exists()


def test_usable_at_400_px(new_page, boss):
    group = admin.create_group("A group with a rather long name for a narrow screen")
    alice = admin.create_agent("alice", email="alice@example.org")
    page = new_page(viewport={"width": 400, "height": 800})
    log_in(page, "boss", PASSWORD)
    for url in (
        "/administration/permissions/",
        f"/administration/permissions/group/{group.pk}/",
        f"/administration/permissions/agent/{alice.pk}/",
        "/administration/agents/",
        "/administration/agents/invite/",
    ):
        page.goto(url)
        # The page does not scroll sideways; the table scrolls inside its frame.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, (url, width)
    page.goto(f"/administration/permissions/agent/{alice.pk}/")
    box = page.locator(f"input[data-grant='a{alice.pk}:{group.pk}:ro']")
    box.scroll_into_view_if_needed()
    box.focus()
    page.keyboard.press("Space")
    page.click("button[data-save]")
    expect(page.locator(".msg.success")).to_contain_text("1 change")
    assert Grant.objects.filter(agent=alice, group=group, permission="ro").exists()


def test_a_coordinator_adds_a_member_and_cannot_touch_another_group(page, server):
    ours, theirs = admin.create_group("Ours"), admin.create_group("Theirs")
    lead = admin.create_agent("lead", email="lead@example.org", password=PASSWORD)
    admin.grant(ours, ["manage"], agent=lead)
    newbie = admin.create_agent("newbie", email="newbie@example.org")
    log_in(page, "lead", PASSWORD)
    page.click("header >> text=Permissions")
    expect(page.locator("main")).not_to_contain_text("Theirs")
    page.click("a:has-text('Ours')")
    page.fill("#f-q", "newbie")
    page.click("form[aria-label=Filters] button[type=submit]")
    # A coordinator does not make coordinators.
    expect(
        page.locator(f"input[data-grant='a{newbie.pk}:{ours.pk}:manage']")
    ).to_be_disabled()
    page.check(f"input[data-grant='a{newbie.pk}:{ours.pk}:rw']")
    page.click("button[data-save]")
    expect(page.locator(".msg.success")).to_contain_text("1 change")
    assert Grant.objects.filter(agent=newbie, group=ours, permission="rw").exists()
    response = page.goto(f"/administration/permissions/group/{theirs.pk}/")
    assert response.status == 403
    assert not Grant.objects.filter(group=theirs).exists()


def test_an_invited_agent_sets_a_password_and_sees_exactly_its_queues(new_page, boss):
    support, secret = admin.create_group("Support"), admin.create_group("Secret")
    admin.create_queue("Info", group=support)
    admin.create_queue("Hidden", group=secret)
    page = new_page()
    log_in(page, "boss", PASSWORD)
    page.click("header >> text=Permissions")
    page.click("text=Agents: invite, deactivate, last activity")
    page.click("text=Invite an agent by email")
    page.fill("#i-login", "newbie")
    page.fill("#i-email", "newbie@example.org")
    page.select_option(f"#i-g{support.pk}", "rw")
    page.click("button:has-text('Invite')")
    expect(page.locator(".msg.success")).to_contain_text("newbie is invited")
    [raw] = reset_mails("newbie@example.org")
    match = re.search(r"/invitation/[^/\s]+/", text_of(raw))
    assert match is not None
    invitee = new_page()
    invitee.goto(match.group(0))
    invitee.fill("#id_new_password1", NEW_PASSWORD)
    invitee.fill("#id_new_password2", NEW_PASSWORD)
    invitee.click("button[type=submit]")
    invitee.wait_for_url("**/login/**")
    log_in(invitee, "newbie", NEW_PASSWORD)
    invitee.goto("/queues/")
    expect(invitee.locator("main")).to_contain_text("Info")
    expect(invitee.locator("main")).not_to_contain_text("Hidden")
    # The link is spent.
    assert invitee.goto(match.group(0)).status == 404
