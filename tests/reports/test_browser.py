"""The reports page in real Chromium: charts drawn, the table readable, and at 400
px width nothing wider than the screen but the table, which scrolls in its box."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpline.actions.admin import set_agent_password
from helpline.actions.reports_aggregate import update_reports
from tests.browser.conftest import log_in
from tests.reports.conftest import Clock, Desk
from tests.web import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

URL = "/reports/?start=2026-03-02&end=2026-03-29&unit=week"


@pytest.fixture
def desk(server, monkeypatch, settings):
    settings.TIME_ZONE = "UTC"
    clock = Clock()
    monkeypatch.setattr("django.utils.timezone.now", lambda: clock.now)
    made = Desk(clock)
    update_reports()
    monkeypatch.undo()  # the browser's cookies live in real time
    set_agent_password(None, made.alice, PASSWORD)
    return made


@pytest.mark.parametrize("width", [1280, 400])
def test_report_page(new_page, desk, width):
    page = new_page(viewport={"width": width, "height": 900})
    log_in(page, "alice", PASSWORD)
    page.goto(URL)
    expect(page.locator("h1")).to_contain_text("Reports")
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(3)
    expect(page.locator("svg.chart rect[height]").first).to_be_visible()
    table = page.locator("table.report-table").first
    first_row = table.locator("tbody tr").first
    # The week as the agent's language writes its first day (docs/web.md, "Languages").
    expect(first_row.locator("th")).to_have_text("03/02/2026")
    expect(first_row.locator("td").nth(0)).to_have_text("3")  # received
    # Nothing of queue B, which alice may not read.
    assert "Queue B" not in page.content()
    # The page does not scroll sideways; charts fit the screen.
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width
    box = charts.first.bounding_box()
    assert box is not None and box["width"] <= width
    # Reading it without JavaScript's help: the same figures via the CSV link.
    expect(page.get_by_role("link", name="Download as CSV")).to_be_visible()
