"""The administration screens of automation jobs: defined through the definition's
checks (errors are form errors), a preview page that changes nothing."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from helpline.models import AdminAuditEntry, AutomationJob, Ticket
from tests.automation.desk import make_desk, ticket

pytestmark = pytest.mark.django_db


def _form(desk, **changes):
    data = {
        "name": "junk-pills",
        "comment": "",
        "valid": "on",
        "owner": "boss",
        "queues": [str(desk.info.pk), str(desk.junk.pk)],
        "query": "title:pills -queue:Junk",
        "trigger": "manual",
        "schedule": "",
        "actions": json.dumps([{"do": "move", "queue": "Junk"}]),
    }
    data.update(changes)
    return data


def test_a_job_is_defined_and_previewed_on_the_administration_screens(client):
    desk = make_desk()
    client.force_login(desk.boss)
    pills = ticket(desk.info, title="cheap pills")

    bad = client.post(
        reverse("admin:helpline_automationjob_add"),
        _form(desk, actions=json.dumps([{"do": "move", "queue": "Permissions"}])),
    )
    assert bad.status_code == 200
    assert "only into its own queues" in bad.content.decode()
    assert not AutomationJob.objects.exists()

    made = client.post(reverse("admin:helpline_automationjob_add"), _form(desk))
    assert made.status_code == 302, made.content.decode()[:2000]
    job = AutomationJob.objects.get()
    assert job.actor.username == "job:junk-pills"
    assert AdminAuditEntry.objects.filter(object_type="automation job").exists()

    page = client.get(reverse("admin:helpline_automationjob_preview", args=[job.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert pills.number in text and "move queue=Junk" in text
    assert Ticket.objects.get(pk=pills.pk).queue == desk.info  # nothing changed

    changed = client.post(
        reverse("admin:helpline_automationjob_change", args=[job.pk]),
        _form(desk, schedule="0 3 * * *", trigger="schedule"),
    )
    assert changed.status_code == 302
    job.refresh_from_db()
    assert (job.trigger, job.schedule) == ("schedule", "0 3 * * *")
