"""The API of automation jobs: administrators only; define, preview, run."""

from __future__ import annotations

import pytest

from helpline.models import AutomationRun, Ticket
from tests.api.conftest import client_for
from tests.automation.desk import make_desk, ticket
from tests.search import committed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _api_urls(settings):
    settings.ROOT_URLCONF = "tests.api.urls"


def test_an_administrator_defines_previews_and_runs_a_job_through_the_api():
    desk = make_desk()
    pills = ticket(desk.info, title="cheap pills")
    ticket(desk.info, title="a licence")
    boss = client_for(desk.boss)

    made = boss.post(
        "/automation/jobs",
        {
            "name": "junk-pills",
            "queues": ["Info", "Junk"],
            "query": "title:pills -queue:Junk",
            "actions": [{"do": "move", "queue": "Junk"}],
        },
    )
    assert made.status_code == 201, made.content
    assert made.json()["account"] == "job:junk-pills"
    preview = boss.get("/automation/jobs/junk-pills/preview").json()
    assert (preview["count"], preview["tickets"][0]["number"]) == (1, pills.number)

    with committed():  # the run is handed to the worker once committed
        queued = boss.post("/automation/jobs/junk-pills/runs")
    assert queued.status_code == 202
    assert Ticket.objects.get(pk=pills.pk).queue == desk.junk  # the worker ran it
    run = AutomationRun.objects.get(pk=queued.json()["id"])
    assert (run.status, run.changed) == ("done", 1)
    shown = boss.get("/automation/jobs/junk-pills").json()
    assert shown["runs"][0]["changed"] == 1
    assert [j["name"] for j in boss.get("/automation/jobs").json()] == ["junk-pills"]


def test_agents_who_are_not_administrators_get_403_and_bad_jobs_422():
    desk = make_desk()
    alice = client_for(desk.agent)
    assert alice.get("/automation/jobs").status_code == 403
    bad = client_for(desk.boss).post(
        "/automation/jobs",
        {"name": "x", "queues": ["Info"], "actions": [{"do": "fly"}]},
    )
    assert bad.status_code == 422
    assert "say what to do" in bad.json()["error"]["message"]
    missing = client_for(desk.boss).get("/automation/jobs/none/preview")
    assert missing.status_code == 404
