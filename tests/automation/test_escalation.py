"""Jobs that trigger on the service levels' notices: an escalation announced by
the worker's escalation job runs the jobs waiting for it, on that ticket only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpline.actions import admin, escalations
from helpline.automation import runner, triggers
from helpline.automation.definition import JobSpec, create_job
from helpline.models import AutomationRun, Permission, Ticket
from tests.sla.conftest import clock, desk  # noqa: F401  (the SLA tests' fixtures)
from tests.sla.test_escalation import BERLIN
from tests.support import make_agent, make_ticket

pytestmark = pytest.mark.django_db


def test_an_escalation_runs_the_job_waiting_for_it(
    desk,  # noqa: F811
    clock,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    queue, alice = desk
    boss = make_agent("boss", is_admin=True)
    admin.grant(queue.group, [Permission.RW], agent=boss)
    clock.set(BERLIN, "2026-03-02 09:00")  # first response due 11:00, warned 10:30
    with django_capture_on_commit_callbacks(execute=True):
        late = make_ticket(queue, owner=alice)
    warned_only = create_job(
        boss,
        "warned",
        JobSpec(
            queues=["Info"],
            trigger="escalation_warning",
            actions=[{"do": "note", "text": "Escalation soon: answer it."}],
        ),
    )
    create_job(
        boss,
        "escalated",
        JobSpec(
            queues=["Info"],
            trigger="escalation",
            actions=[{"do": "priority", "priority": 5}],
        ),
    )

    def minute(moment: str) -> int:
        now = clock.set(BERLIN, moment)
        with django_capture_on_commit_callbacks(execute=True):
            escalations.send_escalation_notices()
        return runner.work(now + triggers.EVENT_LAG + timedelta(seconds=1))

    assert minute("2026-03-02 10:30") == 1  # the warning: the "warned" job
    assert Ticket.objects.get(pk=late.pk).priority == 3
    assert minute("2026-03-02 11:00") == 1  # escalated
    assert Ticket.objects.get(pk=late.pk).priority == 5
    assert minute("2026-03-02 11:05") == 0  # escalated once, run once
    runs = AutomationRun.objects.order_by("pk")
    assert [(r.job.name, r.trigger, r.candidates) for r in runs] == [
        ("warned", "escalation_warning", [late.pk]),
        ("escalated", "escalation", [late.pk]),
    ]
    assert runs[0].job == warned_only
