"""The report figures through the API: the same rules as the page and the CSV."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from helpline.actions.reports_aggregate import update_reports
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

RANGE = "start=2026-03-02&end=2026-03-08"


@pytest.fixture(autouse=True)
def _api_urls(settings):
    settings.ROOT_URLCONF = "tests.api.urls"
    cache.clear()


def test_api_report_of_a_readable_queue(desk):
    update_reports()
    api = client_for(desk.alice)
    response = api.get(f"/reports?{RANGE}&unit=week&queue={desk.a.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["queues"] == ["Queue A"]
    [week] = body["periods"]
    assert (week["figures"]["received"], week["figures"]["backlog"]) == (3, 2)


def test_api_shows_no_figures_of_other_queues(desk):
    update_reports()
    api = client_for(desk.alice)
    refused = api.get(f"/reports?{RANGE}&queue={desk.b.pk}")
    assert refused.status_code == 404
    assert b"Queue B" not in refused.content
    everything = api.get(f"/reports?{RANGE}&unit=week").json()
    assert everything["queues"] == ["Queue A"]
    assert everything["total"]["received"] == 3  # not B's ticket
    other_agent = api.get(f"/reports?{RANGE}&agent={desk.bob.pk}")
    assert other_agent.status_code == 403
    bad = api.get("/reports?unit=year")
    assert bad.status_code == 422
