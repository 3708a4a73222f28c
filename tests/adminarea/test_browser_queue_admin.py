"""The queue and answer-text screens in real Chromium: an administrator creates a
queue and sees it at once, edits it, writes and switches off a salutation; every
screen usable at 400 px without sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpline.actions import admin
from helpline.models import AdminAuditEntry, Grant, Queue, Salutation, Template
from tests.browser.fixtures import log_in
from tests.web import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def boss(server):
    return admin.create_agent(
        "boss", email="boss@example.org", password=PASSWORD, is_admin=True
    )


def test_an_administrator_creates_a_queue_and_sees_it(page, boss):
    group = admin.create_group("Support")
    log_in(page, "boss", PASSWORD)
    page.click("header >> text=Administration")
    page.click("main >> a:text-is('Queues')")
    page.click("text=New queue")
    page.fill("#id_short_name", "Billing")
    page.select_option("#id_group", str(group.pk))
    # Checked by default: the creator is given rw, so it sees its queue.
    expect(page.locator("#id_give_me_rw")).to_be_checked()
    page.click("button:has-text('Create')")
    expect(page.locator(".msg.success")).to_contain_text("Queue created")
    queue = Queue.objects.get(name="Billing")
    assert Grant.objects.filter(agent=boss, group=group, permission="rw").exists()
    # The new queue is in the creator's queue tree.
    page.goto("/")
    expect(page.locator("body")).to_contain_text("Billing")
    # Editing it with the keyboard: focus the field, type, submit with Enter.
    page.goto(f"/administration/queues/{queue.pk}/")
    page.locator("#id_unlock_timeout").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("90")
    page.check("#id_follow_up_lock")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.success")).to_contain_text("Queue saved")
    queue.refresh_from_db()
    assert queue.unlock_timeout == 90 and queue.follow_up_lock
    assert AdminAuditEntry.objects.filter(
        action="changed", object_repr="Billing", actor_name="boss"
    ).exists()


def test_a_bad_name_is_shown_next_to_the_form(page, boss):
    group = admin.create_group("Support")
    admin.create_queue("Taken", group=group)
    log_in(page, "boss", PASSWORD)
    page.goto("/administration/queues/new/")
    page.fill("#id_short_name", "Taken")
    page.select_option("#id_group", str(group.pk))
    page.click("button:has-text('Create')")
    expect(page.locator("[role=alert]")).to_contain_text("exists already")
    assert Queue.objects.count() == 1


def test_a_salutation_is_written_and_switched_off(page, boss):
    log_in(page, "boss", PASSWORD)
    page.goto("/administration/")
    page.click("main >> a:text-is('Salutations')")
    page.click("main >> a:has-text('New')")
    page.click("summary:has-text('Placeholders')")
    expect(page.locator("details.placeholders")).to_contain_text("{{ customer.name }}")
    page.fill("#id_name", "Formal")
    page.fill("#id_text", "Dear {{ customer.name }},")
    page.click("button:has-text('Save')")
    expect(page.locator(".msg.success")).to_be_visible()
    page.click("a:has-text('Formal')")
    page.uncheck("#id_valid")
    page.click("button:has-text('Save')")
    expect(page.locator("main")).to_contain_text("switched off")
    assert not Salutation.objects.get(name="Formal").valid


def test_usable_at_400_px(new_page, boss):
    group = admin.create_group("A group with a rather long name for a narrow screen")
    top = admin.create_queue(
        "A rather long queue name for a narrow screen", group=group
    )
    admin.create_queue(f"{top.name}::And a child queue below it", group=group)
    salutation = Salutation.objects.create(name="Hello", text="Hello")
    page = new_page(viewport={"width": 400, "height": 800})
    log_in(page, "boss", PASSWORD)
    for url in (
        "/administration/",
        "/administration/queues/",
        "/administration/queues/new/",
        f"/administration/queues/{top.pk}/",
        "/administration/texts/salutations/",
        f"/administration/texts/salutations/{salutation.pk}/",
        "/administration/texts/auto-responses/new/",
        "/administration/templates/new/",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, (url, width)


def test_an_administrator_creates_a_template_for_a_queue_with_a_file(page, boss):
    queue = admin.create_queue("Support", group=admin.create_group("Support"))
    log_in(page, "boss", PASSWORD)
    page.goto("/administration/templates/")
    page.click("text=New template")
    page.fill("#id_name", "Licence form")
    page.fill("#id_text", "Hello {{ customer.name }}, the form is attached.")
    page.check(f"input[name=queues][value='{queue.pk}']")
    page.click("form[aria-label=Template] button[type=submit]")
    expect(page.locator(".msg.success")).to_contain_text("Template saved")
    page.click("a:has-text('Licence form')")
    page.set_input_files(
        "#t-file",
        files=[{"name": "form.pdf", "mimeType": "application/pdf", "buffer": b"%PDF"}],
    )
    page.click("button:has-text('Add an attachment')")
    expect(page.locator(".msg.success")).to_contain_text("Attachment added")
    expect(page.locator("#t-attachments")).to_be_visible()
    expect(page.locator("main")).to_contain_text("form.pdf")
    template = Template.objects.get(name="Licence form")
    assert list(template.queues.all()) == [queue]
    assert template.attachments.get().filename == "form.pdf"
    # The queue's page links it.
    page.goto(f"/administration/queues/{queue.pk}/")
    page.click("a:has-text('Licence form')")
    expect(page.locator("h1")).to_have_text("Licence form")
