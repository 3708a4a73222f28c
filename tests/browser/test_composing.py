"""Composing in real Chromium: a template goes in at the cursor and the typed text
stays; what the reply form shows is what the customer's mail carries, byte for byte."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpline.mail import outbound
from helpline.models import Salutation, Signature, Template
from tests.browser.conftest import log_in
from tests.browser.test_agent_ui import deliver
from tests.web import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def world(server):
    world = build_world(passwords=True)
    world.info.salutation = Salutation.objects.create(
        name="hello", text='Dear {{ customer.name|default:"Sir or Madam" }},'
    )
    world.info.signature = Signature.objects.create(
        name="sig", text="-- \n{{ agent.name }}, the volunteer team"
    )
    world.info.save()
    template = Template.objects.create(
        name="Permission needed",
        type="answer",
        text="Please send us the permission statement.",
    )
    template.queues.add(world.info)
    return world


def open_reply(page, ticket):
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{ticket.number}/reply/")
    return page.locator("#id_body")


def test_typed_text_survives_choosing_a_template(page, world, smtp_sink):
    ticket = deliver("Photo of the town hall", "May I use your photo?")
    body = open_reply(page, ticket)
    shown = body.input_value()
    assert shown.startswith("Dear Jane Doe,\n\n\n\n-- \nAlice A")
    # The cursor starts where the agent's text goes, after the salutation.
    body.focus()
    page.keyboard.type("Thanks for asking.")
    page.keyboard.press("Enter")
    page.select_option("#id_template", label="Permission needed")
    expect(body).to_have_value(
        shown.replace(
            "\n\n\n\n-- ",
            "\n\nThanks for asking.\nPlease send us the permission statement.\n\n-- ",
            1,
        )
    )
    # A template at the cursor, here in the middle of a typed word's line.
    value = body.input_value()
    at = value.index("Thanks for") + len("Thanks for")
    body.evaluate("(el, at) => el.setSelectionRange(at, at)", at)
    page.get_by_role("button", name="Insert template").click()
    expect(body).to_have_value(
        value[:at] + "Please send us the permission statement." + value[at:]
    )
    # Nothing was reloaded: still the page the agent typed on, nothing sent.
    assert page.url.endswith(f"/ticket/{ticket.number}/reply/")
    assert not smtp_sink.received


def test_replace_the_whole_text_on_request(page, world):
    ticket = deliver("Photo of the town hall", "May I use your photo?")
    body = open_reply(page, ticket)
    body.fill("Something I no longer want.")
    page.select_option("#id_template", label="Permission needed")
    page.get_by_role("button", name="Replace the whole text").click()
    expect(body).to_have_value(
        re.compile(
            r"^Dear Jane Doe,\n\nPlease send us the permission statement\.\n\n-- \n"
        )
    )
    assert "no longer want" not in body.input_value()


def test_without_javascript_the_typed_text_comes_back_with_the_template(
    new_page, world
):
    page = new_page(java_script_enabled=False)
    ticket = deliver("Photo of the town hall", "May I use your photo?")
    body = open_reply(page, ticket)
    shown = body.input_value()
    body.fill(shown.replace("\n\n\n\n", "\n\nMy own words.\n\n", 1))
    page.select_option("#id_template", label="Permission needed")
    page.get_by_role("button", name="Insert template").click()
    page.wait_for_load_state()
    value = page.locator("#id_body").input_value()
    assert value.startswith(
        "Dear Jane Doe,\n\nMy own words.\n\n"
        "Please send us the permission statement.\n\n-- \n"
    )


def test_the_reply_preview_equals_the_sent_mail_byte_for_byte(page, world, smtp_sink):
    ticket = deliver("Photo of the town hall", "May I use your photo?")
    body = open_reply(page, ticket)
    body.focus()
    page.keyboard.type("Grüße, спасибо, ありがとう — a trailing space here ")
    page.select_option("#id_template", label="Permission needed")
    expect(body).to_have_value(re.compile("permission statement"))
    page.select_option("#id_next_state", "open")
    preview = body.input_value()
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(f"**/ticket/{ticket.number}/")
    outbound.send_due()
    [received] = smtp_sink.received
    part = received.message.get_body(("plain",))
    # MIME writes line breaks as CRLF; every other byte is the preview's.
    assert part.get_payload(decode=True) == preview.replace("\n", "\r\n").encode()


def test_a_note_template_in_the_zooms_dialog_keeps_the_typed_note(page, world):
    ticket = deliver("Photo of the town hall", "May I use your photo?")
    checked = Template.objects.create(
        name="Licence checked", type="note", text="Licence checked."
    )
    checked.queues.add(world.info)
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{ticket.number}/")
    page.keyboard.press("n")  # the note opens in a dialog (htmx)
    text = page.locator("#id_text")
    text.fill("The uploader replied by phone. ")
    page.select_option("#id_pick", label="Licence checked")
    expect(text).to_have_value("The uploader replied by phone. Licence checked.")
    assert page.url.endswith(f"/ticket/{ticket.number}/")  # still the zoom


def test_typing_after_opening_the_note_dialog_never_chooses_a_template(page, world):
    ticket = deliver("Photo of the town hall", "May I use your photo?")
    checked = Template.objects.create(name="Checked", type="note", text="Checked.")
    checked.queues.add(world.info)
    log_in(page, "alice", PASSWORD)
    page.goto(f"/ticket/{ticket.number}/")
    page.keyboard.press("n")
    expect(page.locator("#id_subject")).to_be_focused()
    page.keyboard.type("Called back")
    expect(page.locator("#id_subject")).to_have_value("Called back")
    assert page.locator("#id_pick").input_value() == ""
