"""Defining jobs (who may, what is refused), their triggers, their bounds, delete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpline.actions import admin
from helpline.actions.access import forget_permissions
from helpline.actions.articles import add_note
from helpline.automation import runner, triggers
from helpline.automation.definition import JobSpec, change_job, create_job
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import (
    AutomationEvent,
    AutomationRun,
    HistoryEntry,
    Permission,
    StateType,
    Ticket,
)
from tests.automation.desk import days_ago, job, make_desk, ticket
from tests.search import committed
from tests.support import make_group, make_queue

pytestmark = pytest.mark.django_db


def test_only_an_administrator_defines_a_job_and_bad_definitions_are_refused():
    desk = make_desk()
    with pytest.raises(PermissionDenied):
        create_job(
            desk.agent,
            "mine",
            JobSpec(queues=["Info"], actions=[{"do": "priority", "priority": 2}]),
        )
    bad = [
        ({"queues": ["Info"], "actions": [{"do": "explode"}]}, "say what to do"),
        (
            {"queues": ["Info"], "actions": [{"do": "priority", "priority": 9}]},
            "1 to 5",
        ),
        (
            {"queues": ["Info"], "actions": [{"do": "move", "queue": "Junk"}]},
            "only into its own queues",
        ),
        (
            {"queues": ["Info"], "actions": [{"do": "delete"}, {"do": "unlock"}]},
            "only action",
        ),
        (
            {"queues": ["Info"], "query": 'title:"open', "actions": [{"do": "lock"}]},
            "quote",
        ),
        (
            {"queues": ["Info"], "schedule": "every day", "actions": [{"do": "lock"}]},
            "cron line",
        ),
        (
            {"queues": ["Info"], "trigger": "lunch", "actions": [{"do": "lock"}]},
            "Unknown trigger",
        ),
        ({"queues": [], "actions": [{"do": "lock"}]}, "at least one queue"),
        (
            {"queues": ["Info"], "actions": [{"do": "close"}]},
            "needs a text in 'note'",
        ),
    ]
    for spec, words in bad:
        with pytest.raises(InvalidInput, match=words):
            create_job(desk.boss, "bad", JobSpec(**spec))
    with pytest.raises(NotFound):
        create_job(desk.boss, "bad", JobSpec(queues=["Nope"], actions=[{"do": "lock"}]))


def test_a_job_reaches_only_what_its_owner_may_read_and_do():
    desk = make_desk()
    legal = make_queue("Legal", group=make_group("Legal"))
    with pytest.raises(InvalidInput, match="cannot read queue Legal"):
        job(desk, queues=["Legal"], actions=[{"do": "lock"}])
    # Read-only on a group: the job finds its tickets but may not change them.
    ops_group = make_group("Ops")
    ops = make_queue("Ops", group=ops_group)
    admin.grant(ops_group, [Permission.RO], agent=desk.boss)
    forget_permissions(desk.boss)
    t = ticket(ops)
    ticket(legal)  # never reached
    bump = job(desk, queues=["Ops"], actions=[{"do": "priority", "priority": 5}])

    preview = runner.preview(desk.boss, bump)
    assert preview.count == 1
    assert preview.tickets[0].would == ["refused: boss lacks 'priority' here"]
    run = runner.run_now(desk.boss, bump)

    assert (run.matched, run.changed, run.failed) == (1, 0, 1)
    assert "lacks 'priority'" in run.errors[0]["error"]
    assert Ticket.objects.get(pk=t.pk).priority == 3


def test_an_owner_no_longer_administrator_stops_the_job():
    desk = make_desk()
    bump = job(desk, queues=["Info"], actions=[{"do": "priority", "priority": 5}])
    t = ticket(desk.info)
    admin.update_agent(
        None, desk.boss, email="boss@example.org", is_active=True, is_admin=False
    )

    run = runner.process_run(runner.start_run(bump, trigger="manual").pk)

    assert run.status == "failed"
    assert "no longer an active administrator" in run.message
    assert Ticket.objects.get(pk=t.pk).priority == 3


def test_ages_close_tickets_pending_for_thirty_days():
    desk = make_desk()
    waiting, fresh, open_old = (ticket(desk.info) for _ in range(3))
    for t in (waiting, fresh):
        with committed():
            from helpline.actions.tickets import set_state

            set_state(
                desk.agent,
                t.pk,
                "pending reminder",
                pending_until=timezone.now() + timedelta(days=1),
            )
    Ticket.objects.filter(pk__in=[waiting.pk, open_old.pk]).update(changed=days_ago(31))
    close = job(
        desk,
        "close-pending",
        query="state:pending",
        queues=["Info"],
        ages={"changed_days": 30},
        actions=[{"do": "close", "note": "No answer for 30 days; closed."}],
    )

    assert runner.preview(desk.boss, close, all_ids=True).ticket_ids == [waiting.pk]
    runner.run_now(desk.boss, close)

    states = dict(Ticket.objects.values_list("pk", "state_type"))
    assert states[waiting.pk] == StateType.CLOSED
    assert states[fresh.pk] == StateType.PENDING_REMINDER
    assert states[open_old.pk] == StateType.NEW
    note = HistoryEntry.objects.filter(ticket=waiting, type="article").last()
    assert note.actor.get_username() == "job:close-pending"


def test_an_event_job_acts_on_the_tickets_an_event_happened_to_once():
    desk = make_desk()
    quiet, busy = ticket(desk.info), ticket(desk.info)
    urgent = job(
        desk,
        "follow-ups-urgent",
        queues=["Info"],
        trigger="article_added",
        actions=[{"do": "priority", "priority": 5}],
    )
    with committed():
        add_note(desk.agent, busy.pk, "Called the customer.")
    later = timezone.now() + triggers.EVENT_LAG + timedelta(seconds=1)

    assert runner.work(later) == 1
    assert runner.work(later) == 0  # the event was taken once

    priorities = dict(Ticket.objects.values_list("pk", "priority"))
    assert priorities == {quiet.pk: 3, busy.pk: 5}
    run = AutomationRun.objects.get(job=urgent)
    assert (run.trigger, run.candidates, run.changed) == (
        "article_added",
        [busy.pk],
        1,
    )


def test_an_announced_escalation_triggers_the_jobs_waiting_for_it():
    desk = make_desk()
    t = ticket(desk.info)
    job(
        desk,
        "escalated",
        queues=["Info"],
        trigger="escalation",
        actions=[{"do": "priority", "priority": 5}],
    )
    triggers.record_announced("escalation_warning", t.pk)  # no job waits for it
    triggers.record_announced("escalation", t.pk)
    assert list(AutomationEvent.objects.values_list("kind", flat=True)) == [
        "escalation"
    ]

    runner.work(timezone.now() + triggers.EVENT_LAG + timedelta(seconds=1))

    assert Ticket.objects.get(pk=t.pk).priority == 5


def test_a_scheduled_job_runs_once_per_matching_minute_across_workers():
    desk = make_desk()
    ticket(desk.info)
    nightly = job(
        desk,
        "nightly",
        queues=["Info"],
        schedule="30 2 * * *",
        actions=[{"do": "priority", "priority": 2}],
    )
    at = timezone.localtime().replace(hour=2, minute=30, second=5)

    assert runner.work(at) == 1
    assert runner.work(at.replace(second=40)) == 0  # a second worker, same minute
    assert runner.work(at.replace(minute=31)) == 0  # not its minute
    assert AutomationRun.objects.filter(job=nightly).count() == 1


def test_a_delete_job_removes_through_removal_and_keeps_a_record():
    desk = make_desk()
    old, new = ticket(desk.junk), ticket(desk.junk)
    Ticket.objects.filter(pk=old.pk).update(changed=days_ago(40))
    purge = job(
        desk,
        "purge-junk",
        queues=["Junk"],
        ages={"changed_days": 30},
        actions=[{"do": "delete"}],
    )

    run = runner.run_now(desk.boss, purge)

    assert (run.matched, run.changed, run.failed) == (1, 1, 0)
    assert list(Ticket.objects.values_list("pk", flat=True)) == [new.pk]
    assert not HistoryEntry.objects.filter(ticket_id=old.pk).exists()


def test_changing_a_job_rechecks_its_actions_against_its_queues():
    desk = make_desk()
    tidy = job(desk, queues=["Info", "Junk"], actions=[{"do": "move", "queue": "Junk"}])
    with pytest.raises(InvalidInput, match="only into its own queues"):
        change_job(desk.boss, tidy, JobSpec(queues=["Info"]))
    change_job(desk.boss, tidy, JobSpec(valid=False))
    tidy.refresh_from_db()
    assert tidy.valid is False
