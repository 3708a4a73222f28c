"""An agent holding a ticket's row lock is never waited for by a batch: the run
passes the ticket over (SKIP LOCKED) and takes it at the end, once the agent's
transaction is over.  Real row locks, so PostgreSQL (SQLite locks the whole
database for a writer, so there is no row to skip)."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from helpline.automation import runner
from helpline.models import AutomationRun, AutomationTicket, RunStatus, Ticket
from tests.automation.desk import job, make_desk
from tests.support import make_ticket


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_ticket_an_agent_holds_is_skipped_then_taken_at_the_end(settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has none to skip)")
    settings.HELPLINE_AUTOMATION_BATCH = 2
    desk = make_desk()
    tickets = [make_ticket(desk.info) for _ in range(5)]
    held = tickets[1]
    bump = job(desk, queues=["Info"], actions=[{"do": "priority", "priority": 5}])
    run = runner.start_run(bump, trigger="manual")
    locked, release = threading.Event(), threading.Event()

    def agent() -> None:
        # An agent's transaction on ``held``, open until the run has gone past it.
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(60)
        finally:
            connections.close_all()

    def watch() -> None:
        try:
            while not release.is_set():
                cursor = (
                    AutomationRun.objects.filter(pk=run.pk)
                    .values_list("cursor", flat=True)
                    .first()
                )
                if cursor is not None and cursor >= tickets[-1].pk:
                    release.set()  # every batch passed: the agent finishes
                release.wait(0.05)
        finally:
            connections.close_all()

    holder = threading.Thread(target=agent)
    holder.start()
    assert locked.wait(30)
    watcher = threading.Thread(target=watch)
    watcher.start()

    done = runner.process_run(run.pk)
    release.set()
    holder.join()
    watcher.join()

    assert (done.matched, done.changed) == (5, 5)
    order = list(
        AutomationTicket.objects.filter(run=run)
        .order_by("pk")
        .values_list("ticket_id", flat=True)
    )
    assert order[-1] == held.pk  # taken last, after the agent let go
    assert sorted(order) == [t.pk for t in tickets]
    assert set(Ticket.objects.values_list("priority", flat=True)) == {5}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_ticket_held_throughout_stops_the_run_which_resumes_later(
    settings, monkeypatch
):
    """Past ``BUSY_SECONDS`` of rounds, the run waits for the lock at most
    ``LOCK_TIMEOUT`` (an agent queued behind the run waits no longer), then stops;
    resumed once the agent let go, it takes the ticket, and nothing twice."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has none to skip)")
    monkeypatch.setattr(runner, "BUSY_SECONDS", 0.3)
    settings.HELPLINE_AUTOMATION_BATCH = 2
    desk = make_desk()
    tickets = [make_ticket(desk.info) for _ in range(4)]
    held = tickets[2]
    bump = job(desk, queues=["Info"], actions=[{"do": "priority", "priority": 5}])
    run = runner.start_run(bump, trigger="manual")
    locked, release = threading.Event(), threading.Event()

    def agent() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=agent)
    holder.start()
    assert locked.wait(30)
    try:
        with pytest.raises(OperationalError, match="lock timeout"):
            runner.process_run(run.pk)
    finally:
        release.set()
        holder.join()

    stopped = AutomationRun.objects.get(pk=run.pk)
    assert stopped.status == RunStatus.RUNNING
    assert (stopped.matched, stopped.changed) == (3, 3)
    done = runner.process_run(run.pk)  # the worker's next minute
    assert (done.status, done.matched, done.changed) == (RunStatus.DONE, 4, 4)
    assert set(Ticket.objects.values_list("priority", flat=True)) == {5}
    assert sorted(
        AutomationTicket.objects.filter(run=run).values_list("ticket_id", flat=True)
    ) == [t.pk for t in tickets]
