"""Right to left in real Chromium: an agent whose language is Arabic gets the page
mirrored (docs/web.md, "Languages"): the queue tree on the right, the brand at the
right of the header, text from the right, nothing sticking out at 400 px.

Arabic is the agent's language whether or not its catalogue has arrived: the
direction comes from the language (Django knows Arabic), not from the translations,
so the test asserts positions and directions, never words.
"""

from __future__ import annotations

import pytest

from helpline.models import AgentProfile
from tests.browser.conftest import log_in
from tests.web import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def world(server):
    return build_world(passwords=True)


def _box(page, selector):
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def _text_gaps(locator):
    """Space left and right of the text inside the element."""
    return locator.evaluate(
        "el => { const r = document.createRange(); r.selectNodeContents(el);"
        " const t = r.getBoundingClientRect(), b = el.getBoundingClientRect();"
        " return [t.left - b.left, b.right - t.right]; }"
    )


def _open_queues(new_page, world, language, width):
    AgentProfile.objects.filter(user=world.alice).update(language=language)
    page = new_page(viewport={"width": width, "height": 900})
    log_in(page, "alice", PASSWORD)  # the login sets the agent's language
    page.goto("/queues/")
    return page


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("en", "ltr")])
def test_the_queue_page_is_mirrored_in_a_right_to_left_language(
    new_page, world, language, direction
):
    page = _open_queues(new_page, world, language, 1280)
    html = page.locator("html")
    assert html.get_attribute("lang") == language
    assert html.get_attribute("dir") == direction
    side, main_list = _box(page, "aside.side"), _box(page, "main section.list")
    brand, user_menu = _box(page, ".brand"), _box(page, ".user-menu")
    # The heading, and a column head of the ticket table (text-align: start).
    heading = _text_gaps(page.locator("main section.list h1"))
    column = _text_gaps(page.locator("table.tickets thead th").nth(2))
    if direction == "rtl":
        assert side["x"] > main_list["x"], (side, main_list)  # the tree on the right
        assert brand["x"] > user_menu["x"]
        assert user_menu["x"] < 40  # pushed to the far (left) end of the header
        assert heading[1] < 2 < heading[0]  # starts at the right
        assert column[1] < column[0]
    else:
        assert side["x"] < main_list["x"]
        assert brand["x"] < user_menu["x"]
        assert user_menu["x"] + user_menu["width"] > 1280 - 40
        assert heading[0] < 2 < heading[1]
        assert column[0] < column[1]


def test_arabic_at_400_pixels_starts_at_the_right_and_fits(new_page, world):
    page = _open_queues(new_page, world, "ar", 400)
    assert page.locator("html").get_attribute("dir") == "rtl"
    brand = _box(page, ".brand")
    assert brand["x"] + brand["width"] > 400 - 40  # at the right edge
    assert brand["x"] > 200
    fits = page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert fits
    # The ticket list and the zoom too.
    page.goto(f"/ticket/{world.ticket.number}/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    article = _box(page, ".article")
    assert article["x"] + article["width"] <= 400
    # The coloured edge of an article is at its start: the right.
    edges = page.locator(".article").first.evaluate(
        "el => [getComputedStyle(el).borderLeftWidth,"
        " getComputedStyle(el).borderRightWidth]"
    )
    assert edges == ["1px", "4px"]
    # An English mail on an Arabic page still reads left to right (dir="auto"),
    # its trailing full stop where it belongs.
    body = page.locator("pre.body").first
    assert body.evaluate("el => getComputedStyle(el).direction") == "ltr"
    fits = page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert fits
