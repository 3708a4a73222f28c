"""The read audit's scope: events are written once, at the end; outside a scope at
once; a failure to write withholds the content (503); the table refuses updates."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models.query import QuerySet
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext

from helpline.actions import read_audit
from helpline.models import ReadEvent
from tests.support import make_agent, make_ticket

pytestmark = pytest.mark.django_db


def test_a_scope_writes_its_reads_in_one_statement_when_it_ends(queue):
    agent, ticket = make_agent("ann"), make_ticket(queue)
    with (
        CaptureQueriesContext(connection) as queries,
        read_audit.reading("cli", "helpline ticket show"),
    ):
        read_audit.record(agent, ticket, "ticket")
        read_audit.record(agent, ticket, "raw", article_id=7)
        assert read_audit.pending() == 2
        assert not ReadEvent.objects.exists()
    inserts = [q for q in queries if "INSERT" in q["sql"] and "read_event" in q["sql"]]
    assert len(inserts) == 1
    events = list(
        ReadEvent.objects.order_by("id").values_list(
            "agent_name", "ticket_number", "kind", "article_id", "channel", "client"
        )
    )
    assert events == [
        ("ann", ticket.number, "ticket", None, "cli", "helpline ticket show"),
        ("ann", ticket.number, "raw", 7, "cli", "helpline ticket show"),
    ]


def test_outside_a_scope_a_read_is_written_at_once_as_a_job(queue):
    agent, ticket = make_agent("ann"), make_ticket(queue)
    read_audit.record(agent, ticket, "export")
    event = ReadEvent.objects.get()
    assert (event.channel, event.customer_id) == ("job", ticket.customer_id)


def test_unknown_kinds_and_channels_are_refused(queue):
    agent, ticket = make_agent("ann"), make_ticket(queue)
    with pytest.raises(ValueError):
        read_audit.record(agent, ticket, "glance")
    with pytest.raises(ValueError), read_audit.reading("telepathy"):
        pass


def test_a_read_that_cannot_be_recorded_raises(queue, monkeypatch):
    agent, ticket = make_agent("ann"), make_ticket(queue)

    original = QuerySet.bulk_create

    def broken(self, objs, *args, **kwargs):
        if self.model is ReadEvent:
            raise DatabaseError("disk full")
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", broken)
    with pytest.raises(read_audit.ReadAuditUnavailable), read_audit.reading("web"):
        read_audit.record(agent, ticket, "ticket")


def test_the_table_refuses_updates(queue):
    agent, ticket = make_agent("ann"), make_ticket(queue)
    read_audit.record(agent, ticket, "ticket")
    with pytest.raises(DatabaseError), transaction.atomic():
        ReadEvent.objects.update(agent_name="someone else")
    assert ReadEvent.objects.get().agent_name == "ann"
    event = ReadEvent.objects.get()
    with pytest.raises(ValueError):
        event.save()


@pytest.mark.parametrize(
    ("path", "content_type", "channel"),
    [
        ("/tickets/1/", "text/html", "web"),
        ("/api/v1/tickets/1", "application/json", "api"),
        ("/admin/helpline/", "text/html", "admin"),
    ],
)
def test_the_middleware_withholds_the_content_when_the_read_is_not_recorded(
    queue, monkeypatch, rf, path, content_type, channel
):
    from helpline.web.audit import ReadAuditMiddleware

    agent, ticket = make_agent("ann"), make_ticket(queue)
    seen = []

    def view(request):
        read_audit.record(agent, ticket, "ticket")
        seen.append(read_audit.pending())
        return HttpResponse("secret words of the ticket")

    request = rf.get(path, HTTP_USER_AGENT="Firefox", REMOTE_ADDR="192.0.2.7")
    ok = ReadAuditMiddleware(view)(request)
    assert ok.content == b"secret words of the ticket"
    event = ReadEvent.objects.get()
    assert (event.channel, event.client) == (channel, "192.0.2.7 Firefox")

    original = QuerySet.bulk_create

    def broken(self, objs, *args, **kwargs):
        if self.model is ReadEvent:
            raise DatabaseError("disk full")
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", broken)
    refused = ReadAuditMiddleware(view)(request)
    assert refused.status_code == 503
    assert refused["Content-Type"].startswith(content_type)
    assert b"secret" not in refused.content
    assert b"recorded" in refused.content
    assert seen == [1, 1]
