"""The API takes exactly what its OpenAPI document says, and refuses the rest clearly.

Each case here was a schemathesis failure (issue 13): a value of the wrong type taken
as something else, an If-Match that is not one compared as if it were, names and
cursors refused with statuses the document did not give.  The whole document is
fuzzed in tests/api/test_schemathesis.py; these pin the decisions down.
"""

from __future__ import annotations

import json

import pytest

from helpline.api.openapi import document
from tests.api import conftest as api_conftest
from tests.api.conftest import Desk, error_code
from tests.support import make_ticket

# The API tests' fixture: an agent with rw on a queue, and its token client.
desk = api_conftest.desk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _api_urls(settings):
    settings.ROOT_URLCONF = "tests.api.urls"


def _details(response) -> list[list[str]]:
    return [issue["location"] for issue in response.json()["error"]["details"]]


# --- types are the document's types, strictly ----------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"lock": 0},
        {"lock": 1},
        {"lock": "true"},
        {"priority": True},
        {"priority": "2"},
        {"pending_until": 0},
    ],
)
def test_a_ticket_change_of_the_wrong_type_is_refused_and_changes_nothing(
    desk: Desk, changes
):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(f"/tickets/{ticket.number}", changes)
    assert response.status_code == 422, response.content
    assert _details(response) == [["body", next(iter(changes))]]
    ticket.refresh_from_db()
    assert (ticket.locked, ticket.priority, ticket.version) == (False, 3, 1)


def test_an_integral_number_is_an_integer_as_json_says(desk: Desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(f"/tickets/{ticket.number}", {"priority": 2.0})
    assert response.status_code == 200, response.content
    assert response.json()["priority"] == 2


@pytest.mark.parametrize("reply_all", [0, 1, "false"])
def test_reply_all_is_true_or_false_only(desk: Desk, reply_all):
    ticket = make_ticket(desk.queue)
    response = desk.api.post(
        f"/tickets/{ticket.number}/articles",
        {"kind": "reply", "text": "Hello", "reply_all": reply_all},
    )
    assert response.status_code == 422, response.content
    assert _details(response) == [["body", "reply", "reply_all"]]
    assert ticket.articles.count() == 1


@pytest.mark.parametrize("locked", ["0", "1", "yes", "on"])
def test_the_locked_filter_is_true_or_false_only(desk: Desk, locked):
    response = desk.api.get(f"/tickets?locked={locked}")
    assert response.status_code == 422, response.content
    assert _details(response) == [["query", "locked"]]
    assert desk.api.get("/tickets?locked=false").status_code == 200


# --- If-Match --------------------------------------------------------------------------
@pytest.mark.parametrize("header", ["{v}", "'{v}'", "W/{v}", '"{v}', "*, *"])
def test_an_if_match_that_is_not_an_if_match_is_invalid_input_not_a_412(
    desk: Desk, header
):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(
        f"/tickets/{ticket.number}",
        {"title": "Renamed"},
        headers={"If-Match": header.replace("{v}", str(ticket.version))},
    )
    assert response.status_code == 422, response.content
    assert _details(response) == [["header", "If-Match"]]
    ticket.refresh_from_db()
    assert ticket.title != "Renamed"


def test_an_empty_if_match_names_no_version_and_is_412_with_the_etag(desk: Desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(
        f"/tickets/{ticket.number}", {"title": "Renamed"}, headers={"If-Match": ""}
    )
    assert response.status_code == 412, response.content
    assert error_code(response) == "precondition_failed"
    assert "names none" in response.json()["error"]["message"]
    assert response["ETag"] == f'"{ticket.version}"'


def test_an_entity_tag_with_a_comma_inside_is_one_tag(desk: Desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(
        f"/tickets/{ticket.number}",
        {"title": "Renamed"},
        headers={"If-Match": f'"x,{ticket.version}" , W/"{ticket.version}"'},
    )
    assert response.status_code == 412, response.content


# --- names and cursors the server alone can judge ---------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"state": "no such state"},
        {"queue": "No::Such"},
        {"owner": "nobody"},
        {"responsible": "nobody"},
    ],
)
def test_an_unknown_name_in_a_change_is_422_not_a_missing_ticket(desk: Desk, changes):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(f"/tickets/{ticket.number}", changes)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "details" not in error
    assert repr(next(iter(changes.values()))) in error["message"]


def test_an_unknown_state_of_a_new_ticket_or_reply_is_422(desk: Desk):
    create = desk.api.post(
        "/tickets",
        {"queue": desk.queue.name, "title": "x", "state": "nope", "article": {}},
    )
    assert (create.status_code, error_code(create)) == (422, "invalid")
    ticket = make_ticket(desk.queue)
    reply = desk.api.post(
        f"/tickets/{ticket.number}/articles",
        {"kind": "reply", "text": "x", "next_state": "nope"},
    )
    assert (reply.status_code, error_code(reply)) == (422, "invalid")


@pytest.mark.parametrize("path", ["/tickets", "/tickets/{n}/articles"])
@pytest.mark.parametrize("cursor", ["0000", "e30", "eyJzIjoib3RoZXIiLCJpIjoxfQ"])
def test_a_cursor_the_server_did_not_make_for_this_listing_is_422(
    desk: Desk, path, cursor
):
    ticket = make_ticket(desk.queue)
    response = desk.api.get(f"{path.format(n=ticket.number)}?cursor={cursor}")
    assert (response.status_code, error_code(response)) == (422, "invalid_cursor")


def test_a_domain_refusal_of_a_valid_request_is_422_never_400(desk: Desk):
    ticket = make_ticket(desk.queue)  # open: only closed tickets archive
    response = desk.api.post(f"/tickets/{ticket.number}/archive")
    assert (response.status_code, error_code(response)) == (422, "invalid")


def test_a_body_that_is_not_json_is_the_only_400(desk: Desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.client.patch(
        f"/api/v1/tickets/{ticket.number}",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {desk.api.token}"},
    )
    assert (response.status_code, error_code(response)) == (400, "bad_request")


# --- the document says all of it ------------------------------------------------------
def test_every_operation_documents_422_and_every_write_412_and_400_for_a_body():
    schema = json.loads(document())
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            codes = set(op["responses"])
            where = f"{method.upper()} {path}"
            assert "422" in codes, where
            headers = [p for p in op.get("parameters", []) if p["in"] == "header"]
            if any(p["name"] == "If-Match" for p in headers):
                assert "412" in codes, where
                if_match = next(p for p in headers if p["name"] == "If-Match")
                assert if_match["schema"]["type"] == "string", where
                assert "pattern" in if_match["schema"], where
            if "requestBody" in op:
                assert {"400", "413"} <= codes, where
            if method == "get":
                assert "400" not in codes or path.endswith("/history"), where
