"""Drafts in real Chromium: what the agent typed is saved as it types and comes
back after a reload and after a new login in another browser."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from helpline.models import ComposeDraft
from tests.browser.conftest import log_in
from tests.browser.test_agent_ui import deliver
from tests.web import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TYPED = "My half-written answer, kept by the server."


@pytest.fixture
def world(server):
    return build_world(passwords=True)


def saved_on_leaving(ticket, wait_s: float = 10.0) -> None:
    """The save sent as the page went away has reached the database (the browser
    sends it alongside the next page's request)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        draft = ComposeDraft.objects.filter(ticket=ticket, kind="reply").first()
        if draft and "P.S. typed just before leaving." in draft.fields["body"]:
            return
        time.sleep(0.1)
    raise AssertionError("the draft was not saved when the page was left")


def test_a_draft_survives_a_reload_and_a_new_login(page, new_page, world):
    ticket = deliver("Photo of the town hall", "May I use your photo?")
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{ticket.number}/reply/")
    body = page.locator("#id_body")
    body.focus()
    page.keyboard.type(TYPED)
    page.fill("#id_cc", "colleague@example.org")
    # Saved about two seconds after the last keystroke, without a submit.
    expect(page.locator("[data-draft-status]")).to_contain_text("Draft saved at")
    assert TYPED in ComposeDraft.objects.get(kind="reply").fields["body"]

    page.reload()
    expect(page.locator("[data-draft-restored]")).to_contain_text("Draft restored")
    expect(page.locator("#id_body")).to_have_value(
        ComposeDraft.objects.get().fields["body"]
    )
    expect(page.locator("#id_cc")).to_have_value("colleague@example.org")

    # Another browser (its own cookies), a new login.
    other = new_page()
    log_in(other, "alice", PASSWORD)
    other.goto(f"/ticket/{ticket.number}/reply/")
    expect(other.locator("[data-draft-restored]")).to_contain_text("saved at")
    assert TYPED in other.locator("#id_body").input_value()

    # Leaving the page saves at once (page hide), before the two seconds.
    other.locator("#id_body").press("Control+End")
    other.keyboard.type("P.S. typed just before leaving.")
    other.goto(f"/ticket/{ticket.number}/")
    saved_on_leaving(ticket)
    page.goto(f"/ticket/{ticket.number}/reply/")
    assert "P.S. typed just before leaving." in page.locator("#id_body").input_value()

    # "Discard draft" empties it for good.
    page.get_by_role("button", name="Discard draft").click()
    expect(page.locator("[data-draft-restored]")).to_have_count(0)
    assert TYPED not in page.locator("#id_body").input_value()
    assert not ComposeDraft.objects.exists()


def test_sending_the_reply_deletes_its_draft(page, world):
    ticket = deliver("Photo of the town hall", "May I use your photo?")
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{ticket.number}/reply/")
    page.locator("#id_body").focus()
    page.keyboard.type(TYPED)
    expect(page.locator("[data-draft-status]")).to_contain_text("Draft saved at")
    page.keyboard.type(" Sent at once.")  # a change not yet saved, then Send
    page.locator("button.primary", has_text="Send").click()
    page.wait_for_url(f"**/ticket/{ticket.number}/")
    assert not ComposeDraft.objects.exists()
    page.goto(f"/ticket/{ticket.number}/reply/")
    expect(page.locator("[data-draft-restored]")).to_have_count(0)
