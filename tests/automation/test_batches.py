"""A batch's cost: the bulk form of a step (a few statements per batch, however
many tickets), one search-index job per batch, its commit not waiting for the disk
(PostgreSQL), and tickets passed over found again after a resume."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.actions import admin
from helpline.automation import runner
from helpline.models import (
    AutomationRun,
    AutomationTicket,
    HistoryEntry,
    HistoryType,
    Permission,
    RunStatus,
    Ticket,
)
from helpline.search import indexer
from tests.automation.desk import job, make_desk, ticket
from tests.search import committed, numbers
from tests.support import make_group, make_queue

pytestmark = pytest.mark.django_db


def _batch_queries(desk, queue, count: int) -> int:
    tickets = [ticket(queue) for _ in range(count)]
    bump = job(
        desk,
        f"bump{count}",
        queues=[queue.name],
        actions=[{"do": "priority", "priority": 5}],
    )
    run = runner.start_run(bump, trigger="manual")
    ctx = runner._context(bump, run)
    with CaptureQueriesContext(connection) as queries:
        runner._batch(ctx, run, [t.pk for t in tickets], wait=False)
    run.refresh_from_db()
    assert (run.matched, run.changed) == (count, count)
    return len(queries)


def test_a_bulk_step_costs_the_same_statements_for_5_or_40_tickets(settings):
    settings.HELPLINE_AUTOMATION_BATCH = 100
    desk = make_desk()
    few = _batch_queries(desk, desk.info, 5)
    many = _batch_queries(desk, desk.permissions, 40)
    assert many == few
    assert few <= 12, few


def test_the_bulk_priority_writes_what_one_change_at_a_time_wrote():
    desk = make_desk()
    low = [ticket(desk.info) for _ in range(3)]
    already = ticket(desk.info)
    Ticket.objects.filter(pk=already.pk).update(priority=5)
    versions = dict(Ticket.objects.values_list("pk", "version"))
    bump = job(
        desk, "bump", queues=["Info"], actions=[{"do": "priority", "priority": 5}]
    )

    run = runner.run_now(desk.boss, bump)

    assert (run.matched, run.changed, run.failed) == (4, 3, 0)
    for t in low:
        t.refresh_from_db()
        assert t.priority == 5
        assert t.version == versions[t.pk] + 1
    entries = HistoryEntry.objects.filter(type=HistoryType.PRIORITY)
    assert sorted(e.ticket_id for e in entries) == [t.pk for t in low]
    assert {e.actor.get_username() for e in entries} == {"job:bump"}
    assert {(e.data["old"], e.data["new"]) for e in entries} == {(3, 5)}
    done = dict(AutomationTicket.objects.values_list("ticket_id", "done"))
    assert done == {**{t.pk: ["priority 5"] for t in low}, already.pk: []}


def test_a_bulk_batch_refuses_the_tickets_of_a_queue_the_owner_lacks():
    desk = make_desk()
    other = make_group("Elsewhere")
    closed_off = make_queue("Closed off", group=other)
    admin.grant(other, [Permission.RO], agent=desk.boss)  # reads, may not prioritise
    mine = ticket(desk.info)
    theirs = ticket(closed_off)
    bump = job(
        desk,
        "bump",
        queues=["Info", "Closed off"],
        actions=[{"do": "priority", "priority": 5}],
    )

    run = runner.run_now(desk.boss, bump)

    assert (run.matched, run.changed, run.failed) == (2, 1, 1)
    assert run.errors == [
        {"ticket": theirs.pk, "error": "boss lacks 'priority' on queue Closed off"}
    ]
    assert Ticket.objects.get(pk=mine.pk).priority == 5
    assert Ticket.objects.get(pk=theirs.pk).priority == 3


def test_the_search_index_follows_a_batch_after_its_commit():
    desk = make_desk()
    tickets = [ticket(desk.info, title="a photo licence") for _ in range(3)]
    # Titles changed behind the index's back: only a reindexing finds the new word.
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(title="zeppelin")
    assert numbers(desk.boss, "zeppelin") == []
    bump = job(
        desk, "bump", queues=["Info"], actions=[{"do": "priority", "priority": 5}]
    )

    with committed():
        runner.run_now(desk.boss, bump)

    assert sorted(numbers(desk.boss, "zeppelin")) == sorted(t.number for t in tickets)


def test_a_resumed_run_takes_the_tickets_a_batch_passed_over(settings):
    """A batch passed a ticket over (an agent held it) and the run then stopped:
    the resumed run finds it in the database, and does the others no second time."""
    settings.HELPLINE_AUTOMATION_BATCH = 2
    desk = make_desk()
    tickets = [ticket(desk.info) for _ in range(5)]
    held = tickets[1]
    bump = job(
        desk, "bump", queues=["Info"], actions=[{"do": "priority", "priority": 5}]
    )
    run = runner.start_run(bump, trigger="manual")
    ctx = runner._context(bump, run)
    # What a stopped run left: batches over every ticket but ``held``.
    runner._batch(ctx, run, [tickets[0].pk], wait=False)
    runner._batch(ctx, run, [t.pk for t in tickets[2:]], wait=False)
    AutomationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    assert Ticket.objects.get(pk=held.pk).priority == 3

    done = runner.process_run(run.pk)

    assert done.status == RunStatus.DONE
    assert (done.matched, done.changed) == (5, 5)
    assert Ticket.objects.get(pk=held.pk).priority == 5
    assert sorted(
        AutomationTicket.objects.filter(run=run).values_list("ticket_id", flat=True)
    ) == [t.pk for t in tickets]
    assert HistoryEntry.objects.filter(type=HistoryType.PRIORITY).count() == 5


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_commits_without_waiting_for_the_disk(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit: PostgreSQL only")
    desk = make_desk()
    one = ticket(desk.info)
    seen: list[tuple[str, str]] = []
    lock = runner._lock

    def watched(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            sync = cursor.fetchone()[0]
            cursor.execute("SHOW lock_timeout")
            seen.append((sync, cursor.fetchone()[0]))
        return lock(*args, **kwargs)

    monkeypatch.setattr(runner, "_lock", watched)
    bump = job(
        desk, "bump", queues=["Info"], actions=[{"do": "priority", "priority": 5}]
    )
    run = runner.start_run(bump, trigger="manual")
    runner._batch(runner._context(bump, run), run, [one.pk], wait=False)
    runner._batch(runner._context(bump, run), run, [one.pk], wait=True)

    assert seen[0][0] == "off"
    assert seen[1] == ("off", "500ms")
    with connection.cursor() as cursor:  # for the batch's transaction only
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def test_a_long_run_moves_the_search_index_pending_lists_between_batches(
    settings, monkeypatch
):
    """So that no batch, and no agent's change, finds a pending list over its
    limit and moves it while holding row locks."""
    settings.HELPLINE_AUTOMATION_BATCH = 2
    monkeypatch.setattr(runner, "FLUSH_EVERY", 3)
    desk = make_desk()
    for _ in range(7):
        ticket(desk.info)
    flushes: list[int] = []
    flush = indexer.flush_pending

    def counted() -> int:
        flushes.append(AutomationRun.objects.get().changed)
        return flush()

    monkeypatch.setattr(indexer, "flush_pending", counted)
    bump = job(
        desk, "bump", queues=["Info"], actions=[{"do": "priority", "priority": 5}]
    )

    run = runner.run_now(desk.boss, bump)

    assert run.changed == 7
    assert flushes == [4, 7]  # after the batches that made 3 or more changes
