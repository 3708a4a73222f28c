"""The group and role screens in real Chromium: an administrator creates a group,
switches it off, creates a role and adds and removes a member with the keyboard;
every screen usable at 400 px without sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpline.actions import admin
from helpline.models import AdminAuditEntry, Group, Permission, Role
from tests.browser.fixtures import log_in
from tests.web import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def boss(server):
    return admin.create_agent(
        "boss", email="boss@example.org", password=PASSWORD, is_admin=True
    )


def test_groups_and_roles_are_administered_in_the_browser(page, boss):
    admin.create_agent("volunteer", email="volunteer@example.org", password=PASSWORD)
    log_in(page, "boss", PASSWORD)
    page.click("header >> text=Administration")
    expect(page.locator("main")).to_contain_text("Groups and roles")
    page.click("main >> a:text-is('Groups')")
    page.click("text=New group")
    page.fill("#t-name", "Support")
    page.fill("#t-comment", "first line")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.success")).to_be_visible()
    group = Group.objects.get(name="Support")
    page.uncheck("#t-valid")
    page.click("button:has-text('Save')")
    expect(page.locator(".msg.success")).to_be_visible()
    group.refresh_from_db()
    assert not group.valid
    # A duplicate name is an error next to the form.
    page.goto("/administration/groups/new/")
    page.fill("#t-name", "Support")
    page.click("button:has-text('Save')")
    expect(page.locator("[role=alert]")).to_contain_text("exists already")
    # A role, its members, its grants.
    page.goto("/administration/roles/new/")
    page.fill("#t-name", "Night")
    page.click("button:has-text('Save')")
    role = Role.objects.get(name="Night")
    admin.grant(group, [Permission.RW], role=role)
    page.fill("#m-login", "nobody")
    page.click("button:has-text('Add member')")
    expect(page.locator("#member-error")).to_contain_text("No agent with login")
    page.fill("#m-login", "volunteer")
    page.keyboard.press("Enter")
    expect(page.locator("#members ~ form li")).to_contain_text("volunteer")
    expect(page.locator("main")).to_contain_text("Support: rw")
    page.click("button[aria-label='Remove: volunteer']")
    expect(page.locator("main")).to_contain_text("No members.")
    assert not role.members.exists()
    assert AdminAuditEntry.objects.filter(
        action="member removed", object_repr="Night", actor_name="boss"
    ).exists()


def test_usable_at_400_px(new_page, boss):
    group = admin.create_group("A group with a rather long name for a narrow screen")
    role = admin.create_role("A role with a rather long name for a narrow screen")
    admin.grant(group, [Permission.RW, Permission.RO], role=role)
    role.members.add(boss)
    page = new_page(viewport={"width": 400, "height": 800})
    log_in(page, "boss", PASSWORD)
    for url in (
        "/administration/",
        "/administration/groups/",
        "/administration/groups/new/",
        f"/administration/groups/{group.pk}/",
        "/administration/roles/",
        "/administration/roles/new/",
        f"/administration/roles/{role.pk}/",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, (url, width)
