"""The read audit is kept HELPLINE_READ_AUDIT_DAYS, then the worker deletes the older
events in batches and records the run; an event outlives the ticket it names."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import DatabaseError, connection
from django.db.models.query import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpline import jobs
from helpline.actions import read_audit
from helpline.actions.tickets import do_create_ticket
from helpline.models import (
    HistoryEntry,
    PeriodicRun,
    PrivacyRun,
    ReadEvent,
    Ticket,
)
from tests.support import make_ticket


def read_days_ago(agent, ticket, days: int, count: int = 1) -> None:
    moment = timezone.now() - timedelta(days=days)
    real = read_audit.timezone
    read_audit.timezone = SimpleNamespace(now=lambda: moment)
    try:
        for _ in range(count):
            read_audit.record(agent, ticket, "ticket")
    finally:
        read_audit.timezone = real


def deletes(queries) -> int:
    return sum(
        1
        for q in queries
        if q["sql"].startswith("DELETE") and "helpline_read_event" in q["sql"]
    )


def test_events_past_the_retention_are_deleted_in_batches_and_the_run_recorded(org):
    ticket = make_ticket(org.info)
    read_days_ago(org.agent, ticket, 40, count=7)
    read_days_ago(org.agent, ticket, 29, count=2)
    with CaptureQueriesContext(connection) as queries:
        run = read_audit.purge_expired(30, batch=3)
    assert ReadEvent.objects.count() == 2
    assert deletes(queries) == 3  # 3 + 3 + 1
    run = PrivacyRun.objects.get(pk=run.pk)
    assert (run.kind, run.status, run.report) == ("audit_purge", "done", {"deleted": 7})
    assert run.options["days"] == 30
    assert run.started is not None and run.finished >= run.started
    # Run again: nothing older any more.
    assert read_audit.purge_expired(30).report == {"deleted": 0}


def test_the_worker_purges_once_a_day_with_the_configured_days(org, settings):
    from huey.api import PeriodicTask

    settings.HELPLINE_READ_AUDIT_DAYS = 10
    ticket = make_ticket(org.info)
    read_days_ago(org.agent, ticket, 11, count=2)
    read_days_ago(org.agent, ticket, 9)
    task = jobs.purge_read_audit_job
    assert issubclass(task.task_class, PeriodicTask)
    assert task.call_local() == 2
    assert ReadEvent.objects.count() == 1
    assert task.call_local() is None  # today's slot is taken
    assert PeriodicRun.objects.filter(job="purge_read_audit_job").count() == 1
    assert PrivacyRun.objects.filter(kind="audit_purge").count() == 1


def test_a_purge_that_fails_is_recorded_as_failed(org, monkeypatch):
    ticket = make_ticket(org.info)
    read_days_ago(org.agent, ticket, 800)
    original = QuerySet.delete

    def broken(self):
        if self.model is ReadEvent:
            raise DatabaseError("disk I/O error")
        return original(self)

    monkeypatch.setattr(QuerySet, "delete", broken)
    run = read_audit.purge_expired(730)
    assert (run.status, run.errors, run.report) == (
        "failed",
        ["disk I/O error"],
        {"deleted": 0},
    )
    assert ReadEvent.objects.count() == 1


def test_the_audit_has_no_foreign_keys(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, ReadEvent._meta.db_table
        )
    assert constraints  # the primary key and the indexes are read
    assert not [name for name, c in constraints.items() if c["foreign_key"]]


def test_an_event_outlives_its_ticket_and_still_names_its_number(org):
    ticket, _ = do_create_ticket(None, queue=org.info, title="To go", article=None)
    read_audit.record(org.agent, ticket, "ticket")
    number, pk = ticket.number, ticket.pk
    HistoryEntry.objects.filter(ticket=ticket).delete()
    ticket.delete()
    assert not Ticket.objects.filter(pk=pk).exists()
    event = ReadEvent.objects.get()
    assert (event.ticket_id, event.ticket_number, event.agent_name) == (
        pk,
        number,
        "reader",
    )


@pytest.mark.parametrize("days", [1, 730])
def test_recent_reads_are_kept(org, days):
    ticket = make_ticket(org.info)
    read_audit.record(org.agent, ticket, "ticket")
    assert read_audit.purge_expired(days).report == {"deleted": 0}
    assert ReadEvent.objects.count() == 1
