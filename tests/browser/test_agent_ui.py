"""The agent interface in real Chromium: the everyday path and the collision warning.

Each test logs in through the login form, so sessions, CSRF and cookies are real.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpline.mail import outbound
from helpline.mail.intake import receive_and_dispatch
from helpline.models import OutboxMessage, StateType, Template, Ticket
from tests.browser.conftest import log_in
from tests.web import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def deliver(subject: str, body: str, *, sender: str = "jane@example.net") -> Ticket:
    raw = (
        f"From: Jane Doe <{sender}>\r\n"
        "To: info@helpline.test\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{abs(hash(subject))}@example.net>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()
    message = receive_and_dispatch(raw, transport="test")
    assert message.ticket_id is not None, message.reason or message.error
    return Ticket.objects.get(pk=message.ticket_id)


@pytest.fixture
def world(server):
    return build_world(passwords=True)


def test_log_in_open_a_queue_and_reply_with_a_template(page, world, smtp_sink):
    ticket = deliver("Photo of the town hall", "May I use your photo on Wikipedia?")
    template = Template.objects.create(
        name="Permission needed",
        type="answer",
        text="Please send us the permission statement.",
    )
    template.queues.add(world.info)

    log_in(page, "alice", PASSWORD)
    page.get_by_role("link", name="Queues", exact=True).click()
    page.locator(".queue-tree").get_by_role(
        "link", name=re.compile("^Info")
    ).first.click()
    page.get_by_role("link", name="Photo of the town hall").click()
    page.wait_for_url(f"**/ticket/{ticket.number}/")
    assert (
        "May I use your photo on Wikipedia?" in page.locator(".articles").inner_text()
    )

    page.keyboard.press("r")  # the reply shortcut
    page.wait_for_url(f"**/ticket/{ticket.number}/reply/")
    page.select_option("#id_template", label="Permission needed")
    body = page.locator("#id_body")
    expect(body).to_have_value(re.compile("Please send us the permission statement."))
    assert "> May I use your photo on Wikipedia?" in body.input_value()
    page.select_option("#id_next_state", "open")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/ticket/{ticket.number}/")
    assert page.get_by_text("The reply is queued for sending.").is_visible()

    outbound.send_due()
    assert OutboxMessage.objects.filter(status="sent").count() == 1
    [received] = smtp_sink.received
    assert received.rcpt_tos == ["jane@example.net"]
    assert "Please send us the permission statement." in received.message.get_content()
    assert f"[Ticket#{ticket.number}]" in received.message["Subject"]


def test_add_a_note_in_the_dialog(page, world):
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{world.ticket.number}/")
    page.keyboard.press("n")
    dialog = page.locator("#action-dialog")
    dialog.locator("#id_text").fill("Checked the licence: fine.")
    # The dialog is on the zoom, whose URL the answer's redirect comes back to:
    # wait for that navigation itself, not for a URL the page already has.
    with page.expect_navigation(url=f"**/ticket/{world.ticket.number}/"):
        dialog.get_by_role("button", name="Add note").click()
    assert page.get_by_text("The note was added.").is_visible()
    assert "Checked the licence: fine." in page.locator(".articles").inner_text()


def test_merge_two_tickets(page, world):
    duplicate = deliver("Same question again", "Did you get my mail?")
    Ticket.objects.filter(pk=duplicate.pk).update(customer=world.ticket.customer)
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{duplicate.number}/")
    page.keyboard.press("m")
    dialog = page.locator("#action-dialog")
    dialog.get_by_role("button", name=f"Merge into {world.ticket.number}").click()
    page.wait_for_url(f"**/ticket/{world.ticket.number}/")
    assert page.get_by_text("The tickets were merged.").is_visible()
    assert "Did you get my mail?" in page.locator(".articles").inner_text()
    assert Ticket.objects.get(pk=duplicate.pk).state_type == StateType.MERGED


def test_lock_collision_between_two_agents(new_page, world, settings):
    settings.HELPLINE_PRESENCE_POLL_SECONDS = 1
    alice, bob = new_page(), new_page()
    log_in(alice, "alice", PASSWORD)
    log_in(bob, "bob", PASSWORD)
    zoom = f"/ticket/{world.ticket.number}/"

    bob.goto(f"{zoom}reply/")  # Bob starts writing
    alice.goto(zoom)
    assert alice.get_by_text("Bob B is writing a reply.").is_visible()

    alice.keyboard.press("l")  # Alice locks the ticket
    alice.get_by_text("The ticket is locked to you.").wait_for()

    # Bob's open reply screen learns of it at the next poll.
    bob.get_by_text("Locked by Alice A").wait_for()
    bob.get_by_text("This ticket changed since you opened it.").wait_for()
    bob.get_by_role("button", name="Send").click()
    bob.get_by_text("is locked by alice").wait_for()
    assert not OutboxMessage.objects.exists()


def test_an_agent_without_access_gets_not_found(page, world):
    log_in(page, "eve", PASSWORD)
    response = page.goto(f"/ticket/{world.ticket.number}/")
    assert response.status == 404
    assert "Not found" in page.content()
    assert "Question about an article" not in page.content()
    assert "Hello, I have a question." not in page.content()
