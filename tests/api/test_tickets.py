"""Tickets over the API: listing, pages, create, read, PATCH, archive."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from helpline.actions import admin, locks, tickets
from helpline.actions.merge import merge_tickets
from helpline.models import Permission, Ticket
from tests.api.conftest import client_for, error_code, queries_for
from tests.support import make_agent, make_queue, make_ticket

pytestmark = pytest.mark.django_db


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["number"] for t in response.json()["items"]]


# --- list ---------------------------------------------------------------------------
def test_the_list_shows_exactly_the_visible_tickets_most_recently_changed_first(desk):
    mine = [make_ticket(desk.queue, title=f"T{i}") for i in range(3)]
    make_ticket(make_queue("Secret"))
    tickets.set_title(desk.agent, mine[0].pk, "changed last")
    listed = numbers(desk.api.get("/tickets"))
    assert listed == [mine[0].number, mine[2].number, mine[1].number]


def test_each_filter_narrows_the_list(desk):
    other_queue = make_queue("Other", group=desk.queue.group)
    bob = make_agent("bob")
    admin.grant(desk.queue.group, [Permission.RW], agent=bob)
    plain = make_ticket(desk.queue, customer="jane@example.net")
    urgent = make_ticket(desk.queue, customer="Max@Example.net", priority=5)
    moved = make_ticket(other_queue)
    locks.lock_ticket(bob, urgent.pk)
    tickets.close_ticket(desk.agent, moved.pk, note="done")
    archived = make_ticket(desk.queue)
    tickets.close_ticket(desk.agent, archived.pk, note="done")
    tickets.archive_ticket(desk.agent, archived.pk)

    def only(query: str) -> set[str]:
        return set(numbers(desk.api.get(f"/tickets?{query}")))

    assert only("queue=Other") == {moved.number}
    assert only("queue=Other&queue=Info") == {plain.number, urgent.number, moved.number}
    assert only("state_type=closed") == {moved.number}
    assert only("state=closed+successful&archived=any") == {
        moved.number,
        archived.number,
    }
    assert only("priority=5") == {urgent.number}
    assert only("owner=bob") == {urgent.number}
    assert only("locked=true") == {urgent.number}
    assert only("locked=false") == {plain.number, moved.number}
    assert only("customer=max@example.net") == {urgent.number}
    assert only("archived=true") == {archived.number}
    assert archived.number not in only("")


def test_pages_follow_each_other_without_gaps_or_repeats(desk):
    made = [make_ticket(desk.queue, title=f"T{i}") for i in range(7)]
    for order, expected in [
        ("-changed", [t.number for t in reversed(made)]),
        ("-id", [t.number for t in reversed(made)]),
        ("id", [t.number for t in made]),
    ]:
        seen, cursor = [], ""
        while True:
            page = desk.api.get(f"/tickets?order={order}&limit=3{cursor}").json()
            seen += [t["number"] for t in page["items"]]
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert seen == expected, order


def test_a_ticket_created_between_pages_moves_nothing_on_later_pages(desk):
    made = [make_ticket(desk.queue) for _ in range(4)]
    first = desk.api.get("/tickets?limit=2").json()
    make_ticket(desk.queue)
    rest = desk.api.get(f"/tickets?limit=10&cursor={first['next_cursor']}")
    assert numbers(rest) == [made[1].number, made[0].number]


@pytest.mark.parametrize("cursor", ["garbage", "e30", "eyJzIjoib3RoZXIiLCJpIjoxfQ"])
def test_a_cursor_that_is_damaged_or_from_another_listing_is_422(desk, cursor):
    make_ticket(desk.queue)
    response = desk.api.get(f"/tickets?cursor={cursor}")
    assert response.status_code == 422
    assert error_code(response) == "invalid_cursor"


def test_a_cursor_of_another_order_is_refused(desk):
    for _ in range(3):
        make_ticket(desk.queue)
    cursor = desk.api.get("/tickets?limit=1").json()["next_cursor"]
    response = desk.api.get(f"/tickets?order=id&cursor={cursor}")
    assert error_code(response) == "invalid_cursor"


def test_a_page_holds_at_most_100(desk):
    response = desk.api.get("/tickets?limit=101")
    assert response.status_code == 422
    assert error_code(response) == "invalid"


def _busy_ticket(desk, i: int, owner) -> Ticket:
    """A ticket with everything a list shows: owner, responsible, customer."""
    ticket = make_ticket(desk.queue, title=f"T{i}", customer=f"c{i}@example.net")
    locks.set_owner(desk.agent, ticket.pk, owner)
    locks.set_responsible(desk.agent, ticket.pk, desk.agent)
    return ticket


def test_listing_costs_the_same_queries_for_2_tickets_as_for_20(
    desk, django_assert_max_num_queries
):
    owners = [make_agent(f"owner{i}") for i in range(4)]
    for owner in owners:
        admin.grant(desk.queue.group, [Permission.OWNER, Permission.RO], agent=owner)
    made = [_busy_ticket(desk, i, owners[0]) for i in range(2)]
    # A merged ticket on both pages: where it went costs one query for the page.
    merge_tickets(desk.agent, make_ticket(desk.queue).pk, made[0].pk)
    few = len(queries_for(desk.api, "/tickets?limit=100"))
    made += [_busy_ticket(desk, i, owners[i % 4]) for i in range(2, 19)]
    merge_tickets(desk.agent, make_ticket(desk.queue).pk, made[1].pk)
    assert Ticket.objects.count() == 21
    with django_assert_max_num_queries(few):
        assert len(numbers(desk.api.get("/tickets?limit=100"))) == 21


# --- full-text search ---------------------------------------------------------------
def test_without_the_search_module_a_query_is_501_search_unavailable(desk, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "helpline.search", None)
    response = desk.api.get("/tickets?q=printer")
    assert response.status_code == 501
    assert error_code(response) == "search_unavailable"


def test_q_does_not_combine_with_narrowing_filters(desk):
    response = desk.api.get("/tickets?q=printer&queue=Info")
    assert response.status_code == 422
    assert error_code(response) == "invalid"


# --- create -------------------------------------------------------------------------
def test_creating_a_ticket_answers_201_with_its_location_and_etag(desk):
    response = desk.api.post(
        "/tickets",
        {
            "queue": "Info",
            "title": "Printer jammed",
            "customer_email": "Jane@Example.net",
            "customer_name": "Jane",
            "priority": 4,
            "article": {
                "channel": "phone",
                "body": "She called.",
                "attachments": [
                    {
                        "filename": "photo.jpg",
                        "content_type": "image/jpeg",
                        "content_base64": base64.b64encode(b"\xff\xd8jpeg").decode(),
                    }
                ],
            },
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(number=body["number"])
    assert response["Location"] == f"/api/v1/tickets/{ticket.number}"
    assert response["ETag"] == f'"{ticket.version}"'
    assert body["customer"] == {"email": "jane@example.net", "name": "Jane"}
    assert body["priority"] == 4
    article = ticket.articles.get()
    assert (article.channel, article.sender_type) == ("phone", "customer")
    assert article.attachments.get().size == 6


def test_creating_needs_the_create_permission(desk):
    reader = make_agent("reader")
    admin.grant(desk.queue.group, [Permission.RO], agent=reader)
    response = client_for(reader).post(
        "/tickets", {"queue": "Info", "title": "x", "article": {"body": "y"}}
    )
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
    assert not Ticket.objects.exists()


def test_creating_in_an_unknown_queue_is_invalid_input(desk):
    response = desk.api.post(
        "/tickets", {"queue": "Nope", "title": "x", "article": {"body": "y"}}
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid"


def test_base64_that_is_not_base64_is_422(desk):
    response = desk.api.post(
        "/tickets",
        {
            "queue": "Info",
            "title": "x",
            "article": {
                "body": "y",
                "attachments": [{"filename": "a", "content_base64": "not base64!"}],
            },
        },
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid"


# --- read ---------------------------------------------------------------------------
def test_a_ticket_is_served_with_its_version_as_etag(desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.get(f"/tickets/{ticket.number}")
    assert response.status_code == 200
    assert response["ETag"] == f'"{ticket.version}"'
    assert response.json()["version"] == ticket.version
    assert "no-store" in response["Cache-Control"]


# --- PATCH --------------------------------------------------------------------------
def test_patch_changes_every_field_through_the_actions(desk):
    bob = make_agent("bob")
    target = make_queue("Second", group=desk.queue.group)
    admin.grant(desk.queue.group, [Permission.RW], agent=bob)
    ticket = make_ticket(desk.queue)
    until = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    response = desk.api.patch(
        f"/tickets/{ticket.number}",
        {
            "title": "Renamed",
            "priority": 1,
            "state": "pending reminder",
            "pending_until": until.isoformat(),
            "owner": "bob",
            "responsible": "bob",
            "queue": "Second",
        },
    )
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert (ticket.title, ticket.priority, ticket.state.name) == (
        "Renamed",
        1,
        "pending reminder",
    )
    assert ticket.pending_until == until
    assert ticket.queue == target
    assert (ticket.owner, ticket.responsible) == (bob, bob)
    assert response["ETag"] == f'"{ticket.version}"'
    types = list(ticket.history.values_list("type", flat=True))
    assert {"title", "priority", "state", "owner", "responsible", "moved"} <= set(types)


def test_patch_applies_all_changes_or_none(desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(
        f"/tickets/{ticket.number}", {"title": "Renamed", "state": "no such state"}
    )
    assert response.status_code == 422
    ticket.refresh_from_db()
    assert ticket.title == "Question about an article"
    assert not ticket.locked
    assert not ticket.history.filter(type="title").exists()


def test_patch_with_only_pending_until_moves_the_pending_time(desk):
    ticket = make_ticket(desk.queue)
    soon = timezone.now() + timedelta(days=1)
    tickets.set_state(desk.agent, ticket.pk, "pending reminder", pending_until=soon)
    later = (soon + timedelta(days=3)).replace(microsecond=0)
    response = desk.api.patch(
        f"/tickets/{ticket.number}", {"pending_until": later.isoformat()}
    )
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert ticket.pending_until == later


@pytest.mark.parametrize(
    "until", ["1409-02-19T06:34:45-19:27", "9999-12-31T23:00:00-23:59"]
)
def test_patch_with_an_impossible_pending_time_is_a_clear_error(desk, until):
    # Found by schemathesis on PostgreSQL: the database refused the offset (a 500).
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(
        f"/tickets/{ticket.number}",
        {"state": "pending reminder", "pending_until": until},
    )
    assert response.status_code == 422, response.content
    assert "pending time" in response.json()["error"]["message"]
    ticket.refresh_from_db()
    assert ticket.state.name == "new"


def test_patch_responsible_null_removes_the_responsible(desk):
    ticket = make_ticket(desk.queue)
    locks.set_responsible(desk.agent, ticket.pk, desk.agent)
    response = desk.api.patch(f"/tickets/{ticket.number}", {"responsible": None})
    assert response.json()["responsible"] is None


def test_patch_locks_to_the_caller_and_unlocks(desk):
    ticket = make_ticket(desk.queue)
    locked = desk.api.patch(f"/tickets/{ticket.number}", {"lock": True}).json()
    assert (locked["locked"], locked["owner"]) == (True, "alice")
    response = desk.api.patch(f"/tickets/{ticket.number}", {"lock": False})
    assert response.json()["locked"] is False


def test_patch_refuses_a_ticket_another_agent_has_locked_with_409(desk):
    bob = make_agent("bob")
    admin.grant(desk.queue.group, [Permission.RW], agent=bob)
    ticket = make_ticket(desk.queue)
    locks.lock_ticket(bob, ticket.pk)
    response = desk.api.patch(f"/tickets/{ticket.number}", {"title": "Mine"})
    assert response.status_code == 409
    assert error_code(response) == "ticket_locked"


@pytest.mark.parametrize(
    "changes",
    [
        {"title": None},
        {"priority": 6},
        {"pending_until": "2030-01-01T10:00:00"},  # no time zone
        {"titel": "typo"},
        {"lock": "maybe"},
    ],
)
def test_patch_refuses_what_the_schema_refuses_with_422(desk, changes):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(f"/tickets/{ticket.number}", changes)
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert body["details"][0]["location"][0] == "body"


def test_a_merged_state_is_set_by_merging_not_by_patch(desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.patch(f"/tickets/{ticket.number}", {"state": "merged"})
    assert response.status_code == 422
    assert error_code(response) == "invalid"


# --- If-Match -----------------------------------------------------------------------
def test_the_second_of_two_clients_with_a_stale_etag_gets_412_and_changes_nothing(
    desk,
):
    ticket = make_ticket(desk.queue)
    first, second = desk.api, client_for(desk.agent)
    etag_1 = first.get(f"/tickets/{ticket.number}")["ETag"]
    etag_2 = second.get(f"/tickets/{ticket.number}")["ETag"]
    assert etag_1 == etag_2
    won = first.patch(
        f"/tickets/{ticket.number}", {"title": "First"}, headers={"If-Match": etag_1}
    )
    assert won.status_code == 200
    assert won["ETag"] != etag_1
    lost = second.patch(
        f"/tickets/{ticket.number}", {"title": "Second"}, headers={"If-Match": etag_2}
    )
    assert lost.status_code == 412
    assert error_code(lost) == "precondition_failed"
    assert lost["ETag"] == won["ETag"]
    ticket.refresh_from_db()
    assert ticket.title == "First"
    assert f'"{ticket.version}"' == won["ETag"]


@pytest.mark.parametrize(
    ("if_match", "status"),
    [("*", 200), ('"1", "{v}"', 200), ('W/"{v}"', 412), ('"999"', 412), ("", 412)],
)
def test_if_match_compares_strongly_and_accepts_a_list_or_a_star(
    desk, if_match, status
):
    ticket = make_ticket(desk.queue)
    header = if_match.replace("{v}", str(ticket.version))
    response = desk.api.patch(
        f"/tickets/{ticket.number}", {"priority": 2}, headers={"If-Match": header}
    )
    assert response.status_code == status


def test_every_write_to_a_ticket_honours_if_match(desk):
    ticket = make_ticket(desk.queue)
    other = make_ticket(desk.queue)
    stale = {"If-Match": '"0"'}
    article = ticket.articles.get()
    writes = [
        ("post", f"/tickets/{ticket.number}/archive", None),
        ("post", f"/tickets/{ticket.number}/unarchive", None),
        ("post", f"/tickets/{ticket.number}/articles", {"kind": "note", "text": "x"}),
        ("post", f"/tickets/{ticket.number}/merge", {"into": other.number}),
        ("post", f"/tickets/{ticket.number}/split", {"article_id": article.pk}),
        ("post", f"/tickets/{ticket.number}/links", {"ticket": other.number}),
        ("delete", f"/tickets/{ticket.number}/links/{other.number}", None),
    ]
    version = ticket.version
    for method, path, body in writes:
        call = getattr(desk.api, method)
        args = (path, body) if body is not None else (path,)
        response = call(*args, headers=stale)
        assert response.status_code == 412, path
    ticket.refresh_from_db()
    assert ticket.version == version


# --- archive ------------------------------------------------------------------------
def test_a_closed_ticket_archives_and_comes_back(desk):
    ticket = make_ticket(desk.queue)
    assert error_code(desk.api.post(f"/tickets/{ticket.number}/archive")) == "invalid"
    tickets.close_ticket(desk.agent, ticket.pk, note="done")
    assert desk.api.post(f"/tickets/{ticket.number}/archive").json()["archived"]
    back = desk.api.post(f"/tickets/{ticket.number}/unarchive")
    assert back.json()["archived"] is False
