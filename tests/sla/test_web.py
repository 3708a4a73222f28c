"""The zoom shows a ticket's due times; queue views sort and filter by escalation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.sla.test_escalation import BERLIN, _do
from tests.support import make_ticket
from tests.web import web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def three(desk, clock, django_capture_on_commit_callbacks):
    """Monday in Berlin: one ticket answered (due Tuesday 17:00), one new from 09:00
    (due 11:00), one from 10:00 (due 12:00), and one in a queue without a service
    level."""
    from tests.support import make_queue

    queue, alice = desk
    made = {}
    with django_capture_on_commit_callbacks(execute=True):
        clock.set(BERLIN, "2026-03-02 09:00")
        made["answered"] = make_ticket(queue, title="answered")
        made["first"] = make_ticket(queue, title="first")
        clock.set(BERLIN, "2026-03-02 10:00")
        made["second"] = make_ticket(queue, title="second")
        _do("reply", made["answered"], alice)
        made["plain"] = make_ticket(
            make_queue("Plain", group=queue.group), title="plain"
        )
    return queue, alice, made


def _titles(response):
    assert response.status_code == 200
    return [t.title for t in response.context["rows"]]


def test_the_queue_view_sorts_by_escalation_both_ways(client, three):
    queue, alice, _ = three
    client.force_login(alice)
    url = reverse("queue", args=[queue.pk])
    assert _titles(client.get(url + "?sort=escalation")) == [
        "first",
        "second",
        "answered",
    ]
    assert _titles(client.get(url + "?sort=-escalation")) == [
        "answered",
        "second",
        "first",
    ]


def test_tickets_without_escalation_time_come_last_both_ways(client, three):
    _, alice, _ = three
    client.force_login(alice)
    url = reverse("ticket-list", args=["open"])
    assert _titles(client.get(url + "?sort=escalation"))[-1] == "plain"
    assert _titles(client.get(url + "?sort=-escalation"))[-1] == "plain"


def test_the_queue_view_filters_escalated_tickets(client, three, clock):
    queue, alice, _ = three
    client.force_login(alice)
    clock.set(BERLIN, "2026-03-02 11:30")
    url = reverse("queue", args=[queue.pk])
    page = client.get(url + "?escalation=escalated")
    assert _titles(page) == ["first"]
    assert "escalated" in page.content.decode()
    everything = reverse("ticket-list", args=["open"])
    assert sorted(_titles(client.get(everything + "?escalation=any"))) == [
        "answered",
        "first",
        "second",
    ]


def test_the_zoom_shows_the_due_times(client, three, clock):
    _, alice, made = three
    client.force_login(alice)
    clock.set(BERLIN, "2026-03-02 11:30")
    page = client.get(reverse("zoom", args=[made["first"].number])).content.decode()
    assert "First response due" in page
    assert "Solution due" in page
    assert 'class="escalation escalated"' in page
    plain = client.get(reverse("zoom", args=[made["plain"].number])).content.decode()
    assert "First response due" not in plain
