"""``helpline calendar`` and ``helpline sla``: what they change and what they print."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from helpline.models import AdminAuditEntry, Calendar, Queue, ServiceLevel, Ticket
from tests.cli import fails, run
from tests.sla.test_escalation import BERLIN
from tests.support import make_ticket

pytestmark = pytest.mark.django_db


def test_a_calendar_is_set_listed_and_asked():
    out = run(
        "calendar",
        "set",
        "Berlin",
        "--hours",
        "mon-fri 09:00-17:00",
        "--time-zone",
        "Europe/Berlin",
        "--country",
        "de",
        "--region",
        "be",
        "--holiday",
        "2026-12-24",
    )
    assert out == (
        "Calendar 'Berlin': mon-fri 09:00-17:00 in Europe/Berlin, holidays of "
        "DE-BE, 1 added day(s) off.\n"
    )
    calendar = Calendar.objects.get(name="Berlin")
    assert calendar.extra_holidays == ["2026-12-24"]
    # Friday 16:00 before the clocks go forward, plus two working hours.
    due = run(
        "calendar",
        "add",
        "Berlin",
        "--from",
        "2026-03-27T16:00+01:00",
        "--minutes",
        "120",
    )
    assert due == "2026-03-30T10:00:00+02:00\n"
    rows = json.loads(run("calendar", "list", "--json"))
    assert rows[0]["hours"] == "mon-fri 09:00-17:00"
    run("calendar", "set", "Berlin", "--no-holidays")
    calendar.refresh_from_db()
    assert calendar.extra_holidays == []
    assert AdminAuditEntry.objects.filter(object_type="calendar").count() == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("calendar", "set", "X", "--hours", "mon 9-17"), "not a time"),
        (("calendar", "set", "X"), "needs working hours"),
        (
            ("calendar", "set", "X", "--hours", "mon 09:00-17:00", "--country", "QQ"),
            "QQ",
        ),
        (
            ("calendar", "set", "X", "--hours", "mon 09:00-17:00", "--time-zone", "Y"),
            "time zone",
        ),
        (
            (
                "calendar",
                "add",
                "Nope",
                "--from",
                "2026-01-01T00:00Z",
                "--minutes",
                "1",
            ),
            "No calendar",
        ),
        (("sla", "set", "Gold"), "needs a calendar"),
        (("sla", "queue", "Nope", "--none"), "Nope"),
    ],
)
def test_mistakes_are_one_clear_line(argv, message):
    error = fails(*argv)
    assert error.returncode == 1
    assert message in str(error)
    assert not Calendar.objects.filter(name="X").exists()


def test_a_level_is_set_on_a_queue_and_recomputes_its_tickets(
    clock, django_capture_on_commit_callbacks, queue
):
    run(
        "calendar",
        "set",
        "Berlin",
        "--hours",
        "mon-fri 09:00-17:00",
        "--time-zone",
        "Europe/Berlin",
    )
    out = run(
        "sla",
        "set",
        "Gold",
        "--calendar",
        "Berlin",
        "--first-response",
        "60",
        "--update",
        "none",
        "--solution",
        "480",
        "--warning",
        "15",
    )
    assert out == (
        "Service level 'Gold': first response 60, update -, solution 480 business "
        "minutes of 'Berlin'; warning 15 before.\n"
    )
    clock.set(BERLIN, "2026-03-02 09:00")
    ticket = make_ticket(queue)
    with django_capture_on_commit_callbacks(execute=True):
        assert run("sla", "queue", queue.name, "--level", "Gold") == (
            f"Queue {queue.name!r}: service level 'Gold'.\n"
        )
    ticket.refresh_from_db()
    assert ticket.escalation_at.isoformat() == "2026-03-02T09:00:00+00:00"
    rows = json.loads(run("sla", "list", "--json"))
    assert rows[0]["queues"] == [queue.name]
    Ticket.objects.filter(pk=ticket.pk).update(escalation_at=None)
    assert run("sla", "recompute") == "1 ticket(s) recomputed.\n"
    ticket.refresh_from_db()
    assert ticket.escalation_at is not None
    error = fails("sla", "delete", "Gold")
    assert "in use" in str(error)
    run("sla", "queue", queue.name, "--none")
    assert Queue.objects.get(pk=queue.pk).service_level is None
    run("sla", "delete", "Gold")
    assert not ServiceLevel.objects.exists()


def test_a_ticket_gets_its_own_level_only_as_an_agent_who_may_change_it(
    clock, queue, django_capture_on_commit_callbacks
):
    from helpline.actions import admin
    from helpline.models import Permission
    from tests.support import make_agent

    run("calendar", "set", "Always", "--hours", "mon-sun 00:00-24:00")
    run("sla", "set", "Fast", "--calendar", "Always", "--first-response", "10")
    clock.set("UTC", "2026-03-02 09:00")
    ticket = make_ticket(queue)
    reader = make_agent("reader")
    admin.grant(queue.group, [Permission.RO], agent=reader)
    error = fails("sla", "ticket", ticket.number, "--level", "Fast", "--as", "reader")
    assert error.returncode == 1
    writer = make_agent("writer")
    admin.grant(queue.group, [Permission.RW], agent=writer)
    with django_capture_on_commit_callbacks(execute=True):
        run("sla", "ticket", ticket.number, "--level", "Fast", "--as", "writer")
    out = run("sla", "ticket", ticket.number, "--level", "Fast", "--as", "writer")
    assert (
        out == f"Ticket {ticket.number}: escalation time 2026-03-02T09:10:00+00:00.\n"
    )
    assert ticket.history.filter(type="service_level").count() == 1


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (("calendar",), "holidays"),
        (("calendar", "set"), "--region"),
        (("calendar", "add"), "--minutes"),
        (("sla",), "escalation"),
        (("sla", "set"), "--first-response"),
        (("sla", "ticket"), "--queue-level"),
        (("sla", "recompute"), "--queue"),
    ],
)
def test_help_describes_the_commands(argv, mentions, capsys):
    with pytest.raises(SystemExit) as info:
        call_command(*argv, "--help")
    assert info.value.code == 0
    assert mentions in capsys.readouterr().out
