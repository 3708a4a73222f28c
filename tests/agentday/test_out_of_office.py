"""Out of office: the substitute hears of it and gets new assignments, within access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from helpline.actions import admin, locks, out_of_office
from helpline.actions.articles import add_note
from helpline.errors import InvalidInput
from helpline.models import HistoryEntry, HistoryType, Permission
from helpline.web.forms import OwnerForm
from tests.agentday.conftest import mails_to, recipients
from tests.support import make_agent, make_ticket


def _away(agent, substitute, *, days: int = 3):
    now = timezone.now()
    return out_of_office.set_out_of_office(
        agent,
        start=now - timedelta(hours=1),
        end=now + timedelta(days=days),
        substitute=substitute.get_username() if substitute else None,
    )


@pytest.mark.django_db
def test_times_are_read_in_the_agents_time_zone(team):
    row = out_of_office.set_out_of_office(
        team.bob,
        start=datetime(2026, 12, 24, 9, 0),  # noqa: DTZ001 (naive: in the zone given)
        end=datetime(2026, 12, 27, 18, 0),  # noqa: DTZ001
        time_zone="Europe/Berlin",
        substitute="alice",
    )
    row.refresh_from_db()
    assert row.start.astimezone(UTC).hour == 8
    assert row.end.astimezone(UTC).hour == 17
    assert row.time_zone == "Europe/Berlin"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"substitute": "nobody"}, "No active agent"),
        ({"substitute": "bob"}, "own substitute"),
        ({"time_zone": "Mars/Olympus"}, "Unknown time zone"),
        ({"end": datetime(2026, 1, 1, tzinfo=UTC)}, "end after it starts"),
    ],
)
def test_bad_input_is_refused_clearly(team, kwargs, message):
    args = {
        "start": datetime(2026, 2, 1, tzinfo=UTC),
        "end": datetime(2026, 2, 5, tzinfo=UTC),
        "substitute": "alice",
        **kwargs,
    }
    with pytest.raises(InvalidInput, match=message):
        out_of_office.set_out_of_office(team.bob, **args)
    assert out_of_office.get_out_of_office(team.bob) is None


@pytest.mark.django_db
def test_notifications_also_go_to_the_substitute(
    team, django_capture_on_commit_callbacks
):
    _away(team.bob, team.alice)
    carol = team.carol
    admin.grant(team.queue.group, [Permission.RW], agent=carol)
    ticket = make_ticket(team.queue)
    with django_capture_on_commit_callbacks(execute=True):
        add_note(carol, ticket.pk, "@bob please answer")
    assert recipients() == ["alice@example.org", "bob@example.org"]
    (raw,) = mails_to("alice@example.org")
    assert b"substitute for bob" in raw


@pytest.mark.django_db
def test_a_substitute_without_access_gets_nothing(
    team, django_capture_on_commit_callbacks
):
    dave = make_agent("dave")  # reads nothing
    _away(team.bob, dave)
    ticket = make_ticket(team.queue)
    with django_capture_on_commit_callbacks(execute=True):
        add_note(team.alice, ticket.pk, "@bob please answer")
        locks.set_owner(team.alice, ticket.pk, team.bob)
    assert "dave@example.org" not in recipients()
    ticket.refresh_from_db()
    assert ticket.owner == team.bob  # dave may not own it: bob keeps it


@pytest.mark.django_db
def test_no_substitute_outside_the_period(team, django_capture_on_commit_callbacks):
    now = timezone.now()
    out_of_office.set_out_of_office(
        team.bob,
        start=now + timedelta(days=1),
        end=now + timedelta(days=2),
        substitute="alice",
    )
    carol = team.carol
    admin.grant(team.queue.group, [Permission.RW], agent=carol)
    ticket = make_ticket(team.queue)
    with django_capture_on_commit_callbacks(execute=True):
        add_note(carol, ticket.pk, "@bob please answer")
    assert recipients() == ["bob@example.org"]


@pytest.mark.django_db
def test_an_assignment_goes_to_the_substitute_and_the_history_says_so(
    team, django_capture_on_commit_callbacks
):
    carol = team.carol
    admin.grant(team.queue.group, [Permission.RW], agent=carol)
    _away(team.bob, team.alice)
    ticket = make_ticket(team.queue)
    with django_capture_on_commit_callbacks(execute=True):
        locks.set_owner(carol, ticket.pk, team.bob)
    ticket.refresh_from_db()
    assert ticket.owner == team.alice
    entry = HistoryEntry.objects.filter(ticket=ticket, type=HistoryType.OWNER).get()
    assert entry.data["new"] == "alice"
    assert entry.data["reason"] == "substitute for bob (out of office)"
    assert "alice@example.org" in recipients()


@pytest.mark.django_db
def test_an_agent_taking_a_ticket_itself_is_not_redirected(team):
    _away(team.bob, team.alice)
    ticket = make_ticket(team.queue)
    locks.set_owner(team.bob, ticket.pk, team.bob)
    ticket.refresh_from_db()
    assert ticket.owner == team.bob


@pytest.mark.django_db
def test_the_owner_picker_shows_who_is_out_of_office(team, django_assert_num_queries):
    _away(team.bob, team.alice)
    form = OwnerForm(queue=team.queue)
    with django_assert_num_queries(1):
        labels = [label for _pk, label in form.fields["owner"].choices]
    (bob,) = [label for label in labels if "bob" in label]
    assert "out of office until" in bob
    assert not any("out of office" in label for label in labels if "alice" in label)


@pytest.mark.django_db
def test_notifying_many_absent_agents_costs_the_same(
    team, django_capture_on_commit_callbacks
):
    """The substitutes are found in one query, however many recipients are away."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpline.actions.events import Event
    from helpline.responses.notify import notify

    ticket = make_ticket(team.queue)
    _away(team.bob, team.alice)
    with CaptureQueriesContext(connection) as few:
        notify(Event.OWNER, ticket, recipients=[team.bob])
    others = [make_agent(f"extra{i}") for i in range(5)]
    for agent in others:
        _away(agent, team.alice)
    with CaptureQueriesContext(connection) as many:
        notify(Event.OWNER, ticket, recipients=[team.bob, *others])
    # Access is checked per recipient (as before); finding substitutes is not.
    per_recipient = len(many) - len(few)
    assert per_recipient <= len(others)  # at most one access query each
