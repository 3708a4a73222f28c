"""Searching the read audit: for holders of audit_reads only (a superuser without it
is refused like anyone), by agent, ticket, customer, period, kind and channel, in
keyset pages without a count, exported as CSV, in the web page, the REST API and
``helpline audit reads``; every search and export in the administration log, with the
customer as ids, never the address."""

from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import get_args

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpline.actions import privacy_rights, read_audit
from helpline.actions.api_tokens import create_token
from helpline.actions.read_audit_search import check_filters, search_reads
from helpline.actions.tickets import do_create_ticket
from helpline.api.audit import ReadChannelName, ReadKindName
from helpline.errors import InvalidInput, PermissionDenied
from helpline.models import (
    AdminAuditEntry,
    HistoryEntry,
    ReadChannel,
    ReadEvent,
    ReadKind,
)
from tests.cli import fails, run
from tests.support import make_agent, make_queue, make_ticket
from tests.web import web_settings

DAY = datetime(2026, 3, 2, 10, 0)


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@contextmanager
def at(moment: datetime):
    """Reads recorded as if at ``moment`` (local time)."""
    real = read_audit.timezone
    read_audit.timezone = SimpleNamespace(now=lambda: timezone.make_aware(moment))
    try:
        yield
    finally:
        read_audit.timezone = real


@pytest.fixture
def desk(org):
    """Two agents' reads of two customers' tickets over three days."""
    reader, bob = org.agent, make_agent("bob")
    jane = make_ticket(org.info, title="Jane's", customer="jane.roe@example.net")
    john = make_ticket(org.info, title="John's", customer="john@example.net")
    with at(DAY - timedelta(days=1)):
        read_audit.record(reader, jane, "ticket", channel="web", client="1.2.3.4 FF")
    with at(DAY):
        read_audit.record(bob, jane, "attachment", article_id=1, attachment_id=2)
        read_audit.record(reader, john, "ticket", channel="api", client="script")
    with at(DAY + timedelta(days=1)):
        read_audit.record(bob, john, "raw", article_id=3, channel="cli", client="x")
    auditor = make_agent("auditor")
    privacy_rights.give(auditor, privacy_rights.AUDIT_READS)
    return SimpleNamespace(
        reader=reader, bob=bob, jane=jane, john=john, auditor=auditor
    )


def found(page) -> list[tuple[str, str, str]]:
    return [(e.agent_name, e.ticket_number, e.kind) for e in page.events]


def search(desk, **filters):
    return found(search_reads(desk.auditor, check_filters(**filters)))


# --- the action -------------------------------------------------------------------------
def test_each_filter_narrows_newest_first(desk):
    j, n = desk.jane.number, desk.john.number
    assert search(desk) == [
        ("bob", n, "raw"),
        ("reader", n, "ticket"),
        ("bob", j, "attachment"),
        ("reader", j, "ticket"),
    ]
    assert search(desk, agent="bob") == [("bob", n, "raw"), ("bob", j, "attachment")]
    assert search(desk, ticket=j) == [("bob", j, "attachment"), ("reader", j, "ticket")]
    assert search(desk, customer="Jane.Roe@example.net") == search(desk, ticket=j)
    assert search(desk, customer="nobody@example.net") == []
    assert search(desk, since="2026-03-02", until="2026-03-02") == [
        ("reader", n, "ticket"),
        ("bob", j, "attachment"),
    ]
    assert (
        search(desk, since="2026-03-02T10:00") == search(desk, since="2026-03-02")[:3]
    )
    assert search(desk, kind="ticket", channel="api") == [("reader", n, "ticket")]


def test_a_deleted_agent_or_ticket_is_still_found_by_name(desk, org):
    gone, _ = do_create_ticket(None, queue=org.info, title="Gone", article=None)
    read_audit.record(desk.bob, gone, "ticket")
    number = gone.number
    HistoryEntry.objects.filter(ticket=gone).delete()
    gone.delete()
    desk.bob.delete()
    assert search(desk, ticket=number) == [("bob", number, "ticket")]
    assert [t for _, t, _ in search(desk, agent="bob")] == [
        number,
        desk.john.number,
        desk.jane.number,
    ]


def test_pages_follow_on_without_gaps_and_cursors_are_bound_to_their_filters(desk):
    filters = check_filters()
    first = search_reads(desk.auditor, filters, limit=3)
    assert len(first.events) == 3 and first.next_cursor
    rest = search_reads(desk.auditor, filters, cursor=first.next_cursor, limit=3)
    assert rest.next_cursor is None
    ids = [e.pk for e in first.events + rest.events]
    assert ids == list(
        ReadEvent.objects.order_by("-at", "-id").values_list("id", flat=True)
    )
    with pytest.raises(InvalidInput, match="another search"):
        search_reads(desk.auditor, check_filters(agent="bob"), cursor=first.next_cursor)
    with pytest.raises(InvalidInput, match="damaged"):
        search_reads(desk.auditor, filters, cursor="not-a-cursor")


def test_a_next_page_costs_three_statements_and_no_count(desk):
    for k in range(30):
        read_audit.record(desk.reader, desk.john, "article", article_id=k)
    filters = check_filters(agent="reader")
    first = search_reads(desk.auditor, filters, limit=5)
    with CaptureQueriesContext(connection) as queries:
        page = search_reads(desk.auditor, filters, cursor=first.next_cursor, limit=5)
    assert len(page.events) == 5
    sql = [q["sql"] for q in queries]
    assert not any("COUNT(" in s.upper() for s in sql)
    # The right, the agent's login resolved to its id, the page (a next page is
    # the same search: not logged again).
    assert len(sql) == 3


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"kind": "glance"}, "Unknown kind"),
        ({"channel": "telepathy"}, "Unknown channel"),
        ({"since": "yesterday"}, "not a date"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "ends before"),
        ({"until": "9998-12-31"}, "a year from"),
    ],
)
def test_filters_that_make_no_sense_are_refused_clearly(filters, message):
    with pytest.raises(InvalidInput, match=message):
        check_filters(**filters)


def test_only_holders_search_a_superuser_without_the_right_is_refused(desk):
    root = make_agent("root", is_admin=True)
    assert root.is_superuser
    for agent in (root, desk.reader):
        with pytest.raises(PermissionDenied):
            search_reads(agent, check_filters())
    privacy_rights.withdraw(desk.auditor, privacy_rights.AUDIT_READS)
    with pytest.raises(PermissionDenied):
        search_reads(desk.auditor, check_filters())


def test_every_search_is_in_the_administration_log_without_the_address(desk):
    search_reads(
        desk.auditor, check_filters(customer="jane.roe@example.net", kind="raw")
    )
    entry = AdminAuditEntry.objects.get(action="searched the read audit")
    assert entry.actor_name == "auditor"
    assert entry.after == {"kind": "raw", "customer_ids": [desk.jane.customer_id]}
    assert "jane" not in json.dumps(entry.after) + entry.object_repr


# --- the web page ---------------------------------------------------------------------------
@pytest.fixture
def auditor(client, desk):
    client.force_login(desk.auditor)
    return client


def rows(response) -> list[str]:
    return [e["kind"] for e in response.context["events"]]


def test_the_page_searches_pages_on_and_links_the_csv(auditor, desk, monkeypatch):
    url = reverse("audit-reads")
    assert auditor.get(url).context["events"] is None  # the form, no search yet
    assert not AdminAuditEntry.objects.filter(action__contains="read audit").exists()
    response = auditor.get(url, {"agent": "bob", "search": "1"})
    assert response.status_code == 200
    assert rows(response) == ["raw", "attachment"]
    html = response.content.decode()
    assert desk.john.number in html and 'rel="next"' not in html
    assert reverse("audit-reads-csv") + "?agent=bob&amp;search=1" in html
    monkeypatch.setattr("helpline.web.views.audit.PAGE", 1)
    first = auditor.get(url, {"search": "1"})
    assert rows(first) == ["raw"]
    more = first.context["more_query"]
    assert f'href="{url}?{more}" rel="next"'.replace("&", "&amp;") in (
        first.content.decode()
    )
    assert rows(auditor.get(f"{url}?{more}")) == ["ticket"]


def test_a_wrong_filter_is_shown_on_the_page(auditor):
    response = auditor.get(reverse("audit-reads"), {"since": "soon"})
    assert response.status_code == 400
    assert "not a date" in response.content.decode()


def test_the_csv_export_has_every_match_and_is_logged(auditor, desk):
    response = auditor.get(reverse("audit-reads-csv"), {"ticket": desk.john.number})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="read-')
    text = b"".join(response.streaming_content).decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["agent"], r["kind"], r["channel"]) for r in table] == [
        ("bob", "raw", "cli"),
        ("reader", "ticket", "api"),
    ]
    assert table[0]["ticket"] == desk.john.number
    entry = AdminAuditEntry.objects.get(action="exported the read audit")
    assert entry.after == {"ticket": desk.john.number}


def test_the_csv_export_reads_in_batches(desk):
    from helpline.actions import read_audit_search

    events = read_audit_search.export_reads(desk.auditor, check_filters(), batch=3)
    with CaptureQueriesContext(connection) as queries:
        kinds = [e.kind for e in events]
    assert kinds == ["raw", "ticket", "attachment", "ticket"]
    assert len(queries) == 2  # 3 rows, then the last one


def test_a_value_a_spreadsheet_would_run_is_neutralised(auditor, desk):
    read_audit.record(
        desk.reader, desk.jane, "ticket", channel="web", client="=HYPERLINK(1)"
    )
    response = auditor.get(reverse("audit-reads-csv"), {"kind": "ticket"})
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in text


def test_the_page_and_the_csv_are_refused_to_a_superuser_without_the_right(
    client, desk
):
    root = make_agent("root", is_admin=True)
    client.force_login(root)
    for name in ("audit-reads", "audit-reads-csv"):
        response = client.get(reverse(name), {"search": "1"})
        assert response.status_code == 403, name
        assert desk.jane.number.encode() not in response.content
    assert not AdminAuditEntry.objects.filter(action__contains="read audit").exists()


def test_the_navigation_links_the_page_for_holders_only(client, desk):
    client.force_login(desk.reader)
    link = f'href="{reverse("audit-reads")}"'
    assert link not in client.get(reverse("dashboard")).content.decode()
    client.force_login(desk.auditor)
    assert link in client.get(reverse("dashboard")).content.decode()


# --- the REST API -----------------------------------------------------------------------
def api_get(client, token, **params):
    return client.get(
        "/api/v1/audit/reads", params, headers={"Authorization": f"Bearer {token}"}
    )


def test_the_api_searches_with_the_same_filters_in_cursor_pages(client, desk):
    token = create_token(desk.auditor, scope="read").secret
    response = api_get(client, token, customer="jane.roe@example.net", limit=1)
    assert response.status_code == 200
    page = response.json()
    assert [(i["agent"], i["kind"], i["attachment_id"]) for i in page["items"]] == [
        ("bob", "attachment", 2)
    ]
    item = page["items"][0]
    assert item["ticket"] == desk.jane.number
    assert item["customer_id"] == desk.jane.customer_id
    assert "email" not in json.dumps(item)
    rest = api_get(
        client,
        token,
        customer="jane.roe@example.net",
        limit=1,
        cursor=page["next_cursor"],
    ).json()
    assert [i["kind"] for i in rest["items"]] == ["ticket"]
    assert rest["next_cursor"] is None
    assert AdminAuditEntry.objects.filter(action="searched the read audit").count() == 1


def test_the_api_refuses_tokens_of_agents_without_the_right(client, desk):
    root = make_agent("root", is_admin=True)
    for agent in (root, desk.reader):
        response = api_get(client, create_token(agent).secret)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


def test_the_api_answers_a_wrong_filter_with_422(client, desk):
    token = create_token(desk.auditor).secret
    for params, code in (
        ({"since": "2026-13-45"}, "invalid"),
        ({"kind": "glance"}, "invalid"),
        ({"cursor": "abc"}, "invalid_cursor"),
    ):
        response = api_get(client, token, **params)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == code, params


def test_the_api_enumerations_are_the_models_choices():
    assert set(get_args(ReadKindName)) == set(ReadKind.values)
    assert set(get_args(ReadChannelName)) == set(ReadChannel.values)


# --- the command line -----------------------------------------------------------------
def test_the_command_searches_as_a_holder(desk):
    out = run("audit", "reads", "--as", "auditor", "--agent", "bob")
    lines = out.splitlines()
    assert lines[0].split() == [
        "WHEN",
        "AGENT",
        "TICKET",
        "KIND",
        "ARTICLE",
        "FILE",
        "CHANNEL",
        "CLIENT",
    ]
    assert [line.split()[2:5] for line in lines[1:]] == [
        ["bob", desk.john.number, "raw"],
        ["bob", desk.jane.number, "attachment"],
    ]
    entry = AdminAuditEntry.objects.get(action="searched the read audit")
    assert entry.actor_name == "auditor"


def test_the_command_refuses_an_agent_without_the_right(desk):
    error = fails("audit", "reads", "--as", "reader")
    assert error.returncode == 1
    assert "audit_reads" in str(error)


def test_the_operator_exports_csv_and_json_and_is_logged_by_system_account(desk):
    import getpass

    text = run("audit", "reads", "--format", "csv", "--all", "--kind", "ticket")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["agent"], r["ticket"]) for r in table] == [
        ("reader", desk.john.number),
        ("reader", desk.jane.number),
    ]
    data = json.loads(run("audit", "reads", "--format", "json", "--limit", "1"))
    assert [(d["agent"], d["kind"]) for d in data] == [("bob", "raw")]
    entries = AdminAuditEntry.objects.filter(action="exported the read audit")
    assert entries.count() == 2
    assert all(e.actor is None for e in entries)
    assert all(
        e.object_repr.startswith(f"operator {getpass.getuser()}:") for e in entries
    )


def test_the_command_line_mistakes_are_usage_errors(desk):
    assert fails("audit", "reads", "--since", "soon").returncode == 2
    assert fails("audit", "reads", "--all").returncode == 2


def test_the_audit_is_not_narrowed_by_the_auditors_queue_access(desk):
    """A read of a ticket in a queue the auditor cannot see is still found: the
    audit is not filtered by queue access (the right is the access)."""
    secret = make_queue("Secret")
    hidden = make_ticket(secret, title="hidden")
    read_audit.record(desk.reader, hidden, "ticket")
    assert search(desk, ticket=hidden.number) == [("reader", hidden.number, "ticket")]
