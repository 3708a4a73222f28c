"""Every failure is JSON with a stable code; nothing ever shows a traceback."""

from __future__ import annotations

import pytest

from helpline.errors import Conflict, TicketLocked
from tests.api.conftest import PREFIX, error_code
from tests.support import make_ticket

pytestmark = pytest.mark.django_db


def test_an_unknown_endpoint_is_a_json_404(desk):
    response = desk.api.get("/no/such/thing")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_an_unsupported_method_is_405_with_allow(desk):
    response = desk.api.request("PUT", "/tickets")
    assert response.status_code == 405
    assert "GET" in response["Allow"]


def test_invalid_json_is_400_bad_request(desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.client.post(
        f"{PREFIX}/tickets/{ticket.number}/articles",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {desk.api.token}"},
    )
    assert response.status_code == 400
    assert error_code(response) == "bad_request"


def test_validation_errors_say_where(desk):
    response = desk.api.post("/tickets", {"title": 5, "article": {"body": "x"}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    locations = [tuple(d["location"]) for d in error["details"]]
    assert ("body", "queue") in locations
    assert ("body", "title") in locations


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (TicketLocked("locked by bob"), 409, "ticket_locked"),
        (Conflict("already merged"), 409, "conflict"),
    ],
)
def test_domain_errors_keep_their_code_and_status(desk, monkeypatch, exc, status, code):
    from helpline.api import tickets as views

    def refuse(*args, **kwargs):
        raise exc

    monkeypatch.setattr(views.tickets, "set_title", refuse)
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(f"/tickets/{ticket.number}", {"title": "x"})
    assert (response.status_code, error_code(response)) == (status, code)
    assert response.json()["error"]["message"] == exc.message


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_is_500_internal_without_a_traceback(
    desk, monkeypatch, settings, caplog, debug
):
    settings.DEBUG = debug
    from helpline.api import tickets as views

    def explode(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(views, "access_ticket", explode)
    ticket = make_ticket(desk.queue)
    response = desk.api.get(f"/tickets/{ticket.number}")
    assert response.status_code == 500
    assert error_code(response) == "internal"
    text = response.content.decode()
    assert "hunter2" not in text
    assert "Traceback" not in text
    assert "hunter2" in caplog.text  # logged for the operators
