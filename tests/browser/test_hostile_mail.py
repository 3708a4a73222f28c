"""Hostile HTML mail is shown without running or loading anything."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from helpline.mail.intake import receive_and_dispatch
from helpline.models import Ticket
from tests.browser.conftest import log_in
from tests.web import PASSWORD, build_world, email_ticket, png

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HOSTILE = (
    "<p>Dear team, please look at this.</p>"
    "<script>alert(1)</script>"
    '<img src="x" onerror="alert(2)">'
    '<img src="http://127.0.0.2:9/x.png" alt="remote">'
    '<p style="background:url(http://127.0.0.2:9/bg.png)">styled</p>'
    '<a href="javascript:alert(3)">click me</a>'
    '<iframe src="http://127.0.0.2:9/frame"></iframe>'
    '<svg onload="alert(4)"></svg>'
)


def hostile_mail() -> bytes:
    return (
        "From: Mallory <mallory@example.net>\r\n"
        "To: info@helpline.test\r\n"
        "Subject: Hostile HTML\r\n"
        "Message-ID: <hostile-1@example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        f"<html><body>{HOSTILE}</body></html>\r\n"
    ).encode()


@pytest.fixture
def world(server):
    return build_world(passwords=True)


def watch(page, origin):
    """Record dialogs and requests that leave the live server."""
    seen = {"dialogs": [], "foreign": []}

    def on_dialog(dialog):
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    def on_request(request):
        if not request.url.startswith((origin, "data:")):
            seen["foreign"].append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    return seen


def open_and_check(page, server, ticket):
    seen = watch(page, server.url)
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{ticket.number}/")
    frame = page.frame_locator("iframe.html-body")
    frame.get_by_text("Dear team, please look at this.").wait_for()
    frame.get_by_text("click me").click()  # a javascript: link must do nothing
    page.wait_for_timeout(300)
    assert seen["dialogs"] == []
    assert seen["foreign"] == []
    return frame


def test_hostile_mail_from_intake_runs_and_loads_nothing(page, server, world):
    message = receive_and_dispatch(hostile_mail(), transport="test")
    ticket = Ticket.objects.get(pk=message.ticket_id)
    open_and_check(page, server, ticket)


def test_unsanitised_html_stored_by_another_path_is_still_contained(
    page, server, world
):
    """Even HTML that bypassed intake's sanitiser is cleaned again and sandboxed."""
    ticket = email_ticket(world.info, title="Imported", html=HOSTILE)
    open_and_check(page, server, ticket)


def mail_with_inline_image() -> bytes:
    """A multipart/related mail as Thunderbird sends it: HTML plus its logo part."""
    message = EmailMessage()
    message["From"] = "Carol <carol@example.net>"
    message["To"] = "info@helpline.test"
    message["Subject"] = "Our new logo"
    message["Message-ID"] = "<logo-1@example.net>"
    message.set_content("Our new logo is attached.")
    message.add_alternative(
        "<p>Here is our new logo:</p>"
        '<img src="cid:logo.part1@example.net" alt="logo">'
        '<img src="http://127.0.0.2:9/tracker.png" alt="remote">'
        '<img src="cid:nowhere@example.net" alt="unknown">',
        subtype="html",
    )
    html_part = message.get_payload()[1]
    html_part.add_related(
        png(5, 4), "image", "png", cid="<logo.part1@example.net>", filename="logo.png"
    )
    return message.as_bytes()


def test_an_inline_image_shows_and_nothing_remote_loads(page, server, world):
    message = receive_and_dispatch(mail_with_inline_image(), transport="test")
    ticket = Ticket.objects.get(pk=message.ticket_id)
    seen = watch(page, server.url)
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{ticket.number}/")
    frame = page.frame_locator("iframe.html-body")
    frame.get_by_text("Here is our new logo:").wait_for()
    logo = frame.locator("img[alt=logo]")
    logo.wait_for()
    width = logo.evaluate(
        "img => img.complete ? img.naturalWidth : new Promise(done =>"
        " { img.onload = () => done(img.naturalWidth); img.onerror = () => done(0); })"
    )
    assert width == 5
    assert frame.locator("img[alt=remote]").count() == 0
    assert frame.locator("img[alt=unknown]").count() == 0
    page.wait_for_timeout(300)
    assert seen["foreign"] == []
    assert seen["dialogs"] == []
