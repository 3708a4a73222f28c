"""The spam keys in real Chromium: in a list, ``x`` ticks tickets and ``!`` opens the
bulk screen with "Spam" chosen; on a ticket in the junk queue, ``N`` says "Not spam"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpline.models import Ticket
from tests.browser.conftest import log_in
from tests.support import make_queue
from tests.web import PASSWORD, build_world, email_ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def world(server, filter_on):  # noqa: F811 - pytest's fixture by name
    world = build_world(passwords=True)
    world.junk = make_queue("Junk", group=world.info.group)
    world.second = email_ticket(world.info, title="Second")
    return world


def test_spam_on_a_selection_and_not_spam_on_a_ticket_by_keys(page, world):  # noqa: F811
    log_in(page, "alice", PASSWORD)
    page.goto(f"/queues/{world.info.pk}/")
    for _ in range(2):
        page.keyboard.press("j")
        page.keyboard.press("x")
    page.keyboard.press("!")

    page.wait_for_url("**/bulk/**")
    expect(page.locator('input[name="action"][value="spam"]')).to_be_checked()
    page.get_by_role("button", name="Run on all selected tickets").click()
    expect(page.locator("body")).to_contain_text("Moved to Junk.")
    moved = Ticket.objects.filter(pk__in=[world.ticket.pk, world.second.pk])
    assert set(moved.values_list("queue__name", flat=True)) == {"Junk"}

    page.goto(f"/ticket/{world.second.number}/")
    page.keyboard.press("N")
    page.wait_for_url(f"**/ticket/{world.second.number}/")
    expect(page.locator("body")).to_contain_text("Moved to Info.")
    assert Ticket.objects.get(pk=world.second.pk).queue == world.info
