"""A mention in real Chromium: alice @mentions bob in a note, bob sees it under
Mentions (with the count in the navigation), gets the notification, and the ticket
leaves the list when he opens it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpline.models import OutboxMessage
from tests.browser.conftest import log_in
from tests.web import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def world(server):
    return build_world(passwords=True)


def test_a_mention_notifies_and_shows_under_mentions(new_page, world):
    alice = new_page()
    log_in(alice, "alice", PASSWORD)
    alice.goto(f"/ticket/{world.ticket.number}/")
    alice.keyboard.press("n")
    dialog = alice.locator("#action-dialog")
    dialog.locator("#id_text").fill("@bob could you check the licence? and @eve")
    # The dialog is on the zoom, whose URL the answer's redirect comes back to:
    # wait for that navigation itself, not for a URL the page already has.
    with alice.expect_navigation(url=f"**/ticket/{world.ticket.number}/"):
        dialog.get_by_role("button", name="Add note").click()
    # eve may not read the ticket: a neutral hint, nothing more.
    expect(alice.get_by_text("Not notified: @eve.")).to_be_visible()

    outbox = [r for m in OutboxMessage.objects.all() for r in m.recipients]
    assert outbox == ["bob@example.org"]

    bob = new_page()
    log_in(bob, "bob", PASSWORD)
    mentions_link = bob.locator(".main-nav a.nav-mentions")
    expect(mentions_link.locator(".count")).to_have_text("1")
    mentions_link.click()
    bob.wait_for_url("**/mentions/")
    row = bob.locator("table.mentions tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(world.ticket.number)
    expect(row).to_contain_text("alice")
    row.get_by_role("link", name=world.ticket.number).click()
    bob.wait_for_url(f"**/ticket/{world.ticket.number}/")
    expect(bob.locator(".main-nav a.nav-mentions .count")).to_have_count(0)
    bob.goto("/mentions/")
    expect(bob.get_by_text("Nobody has mentioned you.")).to_be_visible()

    eve = new_page()
    log_in(eve, "eve", PASSWORD)
    eve.goto("/mentions/")
    expect(eve.get_by_text("Nobody has mentioned you.")).to_be_visible()


def test_all_mentions_are_marked_done_on_a_narrow_screen(new_page, world, tmp_path):
    """At 400 px, without JavaScript: "Mark all as done" empties the list and the
    count; the button is on screen, not cut off."""
    from helpline.actions.articles import add_note
    from tests.web import email_ticket

    add_note(world.alice, world.ticket.pk, "@bob one")
    add_note(world.alice, email_ticket(world.info, title="Other").pk, "@bob two")
    bob = new_page(viewport={"width": 400, "height": 800}, java_script_enabled=False)
    log_in(bob, "bob", PASSWORD)
    bob.goto("/mentions/")
    expect(bob.locator("table.mentions tbody tr")).to_have_count(2)
    button = bob.get_by_role("button", name="Mark all as done")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
    bob.screenshot(path="/tmp/mentions-400.png")
    button.click()
    bob.wait_for_url("**/mentions/")
    expect(bob.get_by_text("2 mentions were marked as done.")).to_be_visible()
    expect(bob.get_by_text("Nobody has mentioned you.")).to_be_visible()
    expect(bob.locator(".main-nav a.nav-mentions .count")).to_have_count(0)
