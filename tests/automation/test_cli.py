"""``helpline job``: define, list, show, preview and run from the command line."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpline.models import AutomationJob, Ticket
from tests.automation.desk import make_desk, ticket

pytestmark = pytest.mark.django_db


def helpline(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_define_preview_and_run_a_job_from_the_command_line(
    django_assert_max_num_queries,
):
    desk = make_desk()
    pills = [ticket(desk.info, title=f"cheap pills {i}") for i in range(3)]
    ticket(desk.info, title="a licence question")

    out = helpline(
        "job",
        "create",
        "junk-pills",
        "--as",
        "boss",
        "--queue",
        "Info",
        "--queue",
        "Junk",
        "--query",
        "title:pills -queue:Junk",
        "--action",
        '{"do": "move", "queue": "Junk"}',
    )
    assert "acts as job:junk-pills" in out
    preview = json.loads(
        helpline("job", "preview", "junk-pills", "--as", "boss", "--json")
    )
    assert preview["count"] == 3
    assert [t["number"] for t in preview["tickets"]] == [t.number for t in pills]
    assert preview["tickets"][0]["would"] == ["move queue=Junk"]

    run = json.loads(helpline("job", "run", "junk-pills", "--as", "boss", "--json"))
    assert (run["status"], run["tickets"], run["changed"]) == ("done", 3, 3)
    assert Ticket.objects.filter(queue=desk.junk).count() == 3

    for name in ("second", "third"):
        helpline(
            "job",
            "create",
            name,
            "--as",
            "boss",
            "--queue",
            "Info",
            "--schedule",
            "0 * * * *",
            "--action",
            '{"do": "unlock"}',
        )
    with django_assert_max_num_queries(4):  # not one per job
        listing = json.loads(helpline("job", "list", "--json"))
    assert [j["name"] for j in listing] == ["junk-pills", "second", "third"]
    assert listing[0]["last_run"]["changed"] == 3
    shown = helpline("job", "show", "junk-pills")
    assert "title:pills" in shown and "done" in shown


def test_bad_definitions_are_clear_errors_on_the_command_line():
    make_desk()
    with pytest.raises(CommandError, match="not JSON|JSON object"):
        helpline(
            "job",
            "create",
            "x",
            "--as",
            "boss",
            "--queue",
            "Info",
            "--action",
            "move to junk",
        )
    with pytest.raises(CommandError, match="Only an administrator"):
        helpline(
            "job",
            "create",
            "x",
            "--as",
            "alice",
            "--queue",
            "Info",
            "--action",
            '{"do": "unlock"}',
        )
    with pytest.raises(CommandError, match="no automation job"):
        helpline("job", "show", "nope")
    assert not AutomationJob.objects.exists()
