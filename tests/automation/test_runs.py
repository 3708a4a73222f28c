"""Runs: preview equals run, history names the job, batches, idempotence."""

from __future__ import annotations

import pytest

from helpline.automation import runner
from helpline.models import (
    HistoryEntry,
    HistoryType,
    RunStatus,
    Ticket,
)
from tests.automation.desk import job, make_desk, ticket

pytestmark = pytest.mark.django_db


def test_the_run_changes_exactly_the_tickets_the_preview_listed(settings):
    settings.HELPLINE_AUTOMATION_BATCH = 3
    desk = make_desk()
    spam = [ticket(desk.info, title=f"cheap pills {i}") for i in range(7)]
    keep = [ticket(desk.info, title="a photo licence") for _ in range(3)]
    ticket(desk.permissions, title="cheap pills too, other queue")
    tidy = job(
        desk,
        query="title:pills -queue:Junk",
        queues=["Info", "Junk"],
        actions=[{"do": "move", "queue": "Junk"}, {"do": "priority", "priority": 1}],
    )

    preview = runner.preview(desk.boss, tidy, all_ids=True)
    assert preview.count == 7
    assert preview.ticket_ids == sorted(t.pk for t in spam)
    assert Ticket.objects.filter(queue=desk.junk).count() == 0  # nothing changed

    run = runner.run_now(desk.boss, tidy)

    assert run.status == RunStatus.DONE
    assert (run.matched, run.changed, run.failed) == (7, 7, 0)
    moved = set(Ticket.objects.filter(queue=desk.junk).values_list("pk", flat=True))
    assert moved == set(preview.ticket_ids)
    assert not moved & {t.pk for t in keep}
    # Every change is the job's, by name, in each ticket's history.
    entries = HistoryEntry.objects.filter(ticket_id__in=moved, type=HistoryType.MOVED)
    assert {e.actor.get_username() for e in entries} == {"job:tidy"}
    assert entries.count() == 7
    assert runner.preview(desk.boss, tidy).count == 0


def test_batches_shrink_when_slow_and_grow_back_when_quick(settings):
    settings.HELPLINE_AUTOMATION_BATCH = 100
    settings.HELPLINE_AUTOMATION_BATCH_SECONDS = 0.3
    pace = runner.Pace()
    pace.took(1.2)  # four times too long
    assert pace.size == 25
    pace.took(0.05)
    assert pace.size == 50
    for _ in range(5):
        pace.took(0.01)
    assert pace.size == 100  # never above the most
