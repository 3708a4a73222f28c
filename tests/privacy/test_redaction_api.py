"""Redaction through the REST API: what it removed in the answer, 410 for a removed
file, 200 with ``already_removed`` when asked again, 403 for rw without redact and
404 for a ticket the caller may not see, 422 for a request that does not say what
and why."""

from __future__ import annotations

import json

import pytest

from helpline.models import HistoryType, Ticket
from tests.api.conftest import client_for
from tests.privacy.redaction_scene import (
    TEXT,
    documents_ticket,
    make_lead,
    make_stranger,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org):
    return make_lead(org)


@pytest.fixture
def stranger(db):
    return make_stranger()


@pytest.fixture
def ticket(org):
    return documents_ticket()


def api_path(ticket) -> str:
    return f"/tickets/{ticket.number}/articles/{ticket.articles.get().pk}/redactions"


def test_the_api_removes_a_file_and_answers_what_it_did(org, lead, ticket):
    api = client_for(lead)
    document = ticket.articles.get().attachments.get()
    body = {"what": "attachment", "attachment_id": document.pk, "reason": "by mistake"}
    response = api.post(api_path(ticket), body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["removed"] == [
        {
            "what": "attachment",
            "attachment_id": document.pk,
            "size": 4096,
            "content_type": "application/pdf",
            "title": False,
        }
    ]
    assert response["ETag"] == f'"{Ticket.objects.get(pk=ticket.pk).version}"'
    download = api.get(
        f"/tickets/{ticket.number}/articles/{document.article_id}"
        f"/attachments/{document.pk}"
    )
    assert download.status_code == 410
    assert download.json()["error"]["code"] == "redacted"
    again = api.post(api_path(ticket), body)
    assert again.status_code == 200
    assert again.json()["removed"] == []
    assert again.json()["already_removed"] == [f"attachment {document.pk}"]
    history = api.get(f"/tickets/{ticket.number}/history").json()["items"]
    (entry,) = [h for h in history if h["type"] == HistoryType.REDACTED]
    assert entry["actor"] == "lead"
    assert "passport" not in json.dumps(entry)


def test_the_api_refuses_rw_without_redact_and_hides_other_tickets(
    org, stranger, ticket
):
    body = {"what": "body", "reason": "x"}
    refused = client_for(org.agent).post(api_path(ticket), body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    hidden = client_for(stranger).post(api_path(ticket), body)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "ticket_not_found"
    assert ticket.articles.get().body_text == TEXT


@pytest.mark.parametrize(
    "body",
    [
        {"what": "attachment", "reason": "x"},
        {"what": "body", "attachment_id": 1, "reason": "x"},
        {"what": "body", "reason": ""},
        {"what": "everything", "reason": "x"},
        {"what": "body"},
    ],
)
def test_the_api_refuses_a_request_that_does_not_say_what_and_why(lead, ticket, body):
    response = client_for(lead).post(api_path(ticket), body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
