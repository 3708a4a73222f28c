"""The REST API shows a ticket's due times and escalation time."""

from __future__ import annotations

import pytest

from tests.api.conftest import client_for
from tests.sla.test_escalation import BERLIN
from tests.support import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _api_urls(settings):
    settings.ROOT_URLCONF = "tests.api.urls"


def test_a_ticket_carries_its_due_times(
    desk, clock, django_capture_on_commit_callbacks
):
    queue, alice = desk
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(queue)
    response = client_for(alice).get(f"/tickets/{ticket.number}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["first_response_due"].startswith("2026-03-02T10:00:00")
    assert body["escalation_at"] == body["first_response_due"]
    assert body["solution_due"].startswith("2026-03-03T16:00:00")
    assert body["update_due"] is None
