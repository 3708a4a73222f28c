"""Escalation times of tickets, driven through the actions with a fixed clock:
weekends, holidays, both DST changes, pending states, replies and follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpline.actions import articles, escalations, service_levels, tickets
from helpline.actions.articles import NewArticle
from helpline.actions.service_levels import LevelChange
from helpline.models import ArticleChannel, SenderType, Ticket
from tests.support import make_ticket

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def _utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _do(step: str, ticket: Ticket, alice) -> None:
    if step == "reply":
        articles.add_article(
            alice,
            ticket.pk,
            NewArticle(channel=ArticleChannel.PHONE, body_text="We are on it."),
        )
    elif step == "note":
        articles.add_note(alice, ticket.pk, "internal, not an answer")
    elif step == "customer":
        articles.add_article(
            alice,
            ticket.pk,
            NewArticle(
                channel=ArticleChannel.EMAIL,
                sender_type=SenderType.CUSTOMER,
                body_text="Any news?",
                incoming=True,
            ),
        )
    elif step == "pending":
        tickets.set_state(
            alice,
            ticket.pk,
            "pending reminder",
            pending_until=datetime(2027, 1, 1, tzinfo=UTC),
        )
    elif step == "open":
        tickets.set_state(alice, ticket.pk, "open")
    elif step == "close":
        tickets.close_ticket(alice, ticket.pk, note="solved")
    elif step == "new-york":
        service_levels.save_service_level(
            None, "Standard", LevelChange(calendar="New York office")
        )
    else:  # pragma: no cover - a typing error in the table
        raise AssertionError(step)


# Targets: first response 120, update 240, solution 960 business minutes of the
# Berlin office (Mon-Fri 09:00-17:00, Berlin's holidays and 24 December).
# (what, zone, created (local), [(local time, step)], expected (UTC): first response,
#  update, solution, escalation)
CASES = [
    (
        "a weekend with the clocks going forward",
        BERLIN,
        "2026-03-27 16:00",
        [],
        ("2026-03-30 08:00", None, "2026-03-31 14:00", "2026-03-30 08:00"),
    ),
    (
        "Easter: Good Friday and Easter Monday",
        BERLIN,
        "2026-04-02 16:00",
        [],
        ("2026-04-07 08:00", None, "2026-04-08 14:00", "2026-04-07 08:00"),
    ),
    (
        "a weekend with the clocks going back",
        BERLIN,
        "2026-10-23 16:00",
        [],
        ("2026-10-26 09:00", None, "2026-10-27 15:00", "2026-10-26 09:00"),
    ),
    (
        "Christmas with an added holiday",
        BERLIN,
        "2026-12-23 16:30",
        [],
        ("2026-12-28 09:30", None, "2026-12-29 15:30", "2026-12-28 09:30"),
    ),
    (
        "the first response is met by a reply; an internal note is none",
        BERLIN,
        "2026-03-02 09:00",
        [("2026-03-02 09:30", "note"), ("2026-03-02 10:00", "reply")],
        (None, None, "2026-03-03 16:00", "2026-03-03 16:00"),
    ),
    (
        "pending stops the clock; a follow-up after the reply starts the update clock",
        BERLIN,
        "2026-03-02 09:00",
        [
            ("2026-03-02 10:00", "reply"),
            ("2026-03-02 10:00", "pending"),
            ("2026-03-04 12:00", "open"),
            ("2026-03-04 12:00", "customer"),
        ],
        (None, "2026-03-04 15:00", "2026-03-06 10:00", "2026-03-04 15:00"),
    ),
    (
        "a pending ticket shows no due time",
        BERLIN,
        "2026-03-02 09:00",
        [("2026-03-02 10:00", "pending")],
        (None, None, None, None),
    ),
    (
        "the reply answers the follow-up",
        BERLIN,
        "2026-03-02 09:00",
        [
            ("2026-03-02 09:10", "reply"),
            ("2026-03-02 11:00", "customer"),
            ("2026-03-02 11:30", "customer"),
            ("2026-03-02 12:00", "reply"),
        ],
        (None, None, "2026-03-03 16:00", "2026-03-03 16:00"),
    ),
    (
        "closed: no clock runs",
        BERLIN,
        "2026-03-02 09:00",
        [("2026-03-02 10:00", "close")],
        (None, None, None, None),
    ),
    (
        "reopened: the solution clock starts again",
        BERLIN,
        "2026-03-02 09:00",
        [("2026-03-02 09:30", "close"), ("2026-03-05 14:00", "open")],
        ("2026-03-05 14:30", None, "2026-03-09 13:00", "2026-03-05 14:30"),
    ),
    (
        "New York: the service level changes calendar; clocks back, Election Day",
        NEW_YORK,
        "2026-10-30 16:00",
        [("2026-10-30 16:00", "new-york")],
        ("2026-11-02 15:00", None, "2026-11-04 21:00", "2026-11-02 15:00"),
    ),
    (
        "New York: clocks forward",
        NEW_YORK,
        "2026-03-06 16:00",
        [("2026-03-06 16:00", "new-york")],
        ("2026-03-09 14:00", None, "2026-03-10 20:00", "2026-03-09 14:00"),
    ),
]


@pytest.mark.parametrize(
    ("zone", "created", "steps", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_escalation_times(
    desk, clock, django_capture_on_commit_callbacks, zone, created, steps, expected
):
    queue, alice = desk
    clock.set(zone, created)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(queue, owner=alice)
    for moment, step in steps:
        clock.set(zone, moment)
        with django_capture_on_commit_callbacks(execute=True):
            _do(step, ticket, alice)
    ticket.refresh_from_db()
    got = (
        ticket.first_response_due,
        ticket.update_due,
        ticket.solution_due,
        ticket.escalation_at,
    )
    assert got == tuple(_utc(value) for value in expected)


def test_a_ticket_of_a_queue_without_service_level_has_no_due_times(
    desk, clock, django_capture_on_commit_callbacks
):
    from tests.support import make_queue

    queue, _ = desk
    plain = make_queue("Plain", group=queue.group)
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(plain)
    ticket.refresh_from_db()
    assert ticket.escalation_at is None
    assert ticket.solution_due is None


def test_moving_a_ticket_takes_the_new_queues_service_level(
    desk, clock, django_capture_on_commit_callbacks
):
    from tests.support import make_queue

    queue, alice = desk
    plain = make_queue("Plain", group=queue.group)
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(queue)
    ticket.refresh_from_db()
    assert ticket.escalation_at == _utc("2026-03-02 10:00")
    from helpline.actions import admin
    from helpline.models import Permission

    admin.grant(queue.group, [Permission.MOVE_INTO], agent=alice)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.move_ticket(alice, ticket.pk, plain)
    ticket.refresh_from_db()
    assert ticket.escalation_at is None
    with django_capture_on_commit_callbacks(execute=True):
        tickets.move_ticket(alice, ticket.pk, queue)
    ticket.refresh_from_db()
    assert ticket.escalation_at == _utc("2026-03-02 10:00")


def test_a_ticket_of_its_own_service_level(
    desk, clock, django_capture_on_commit_callbacks
):
    queue, alice = desk
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(queue)
    urgent = service_levels.save_service_level(
        None, "Urgent", LevelChange(calendar="Berlin office", first_response=15)
    )
    with django_capture_on_commit_callbacks(execute=True):
        service_levels.set_ticket_service_level(alice, ticket.pk, urgent)
    ticket.refresh_from_db()
    assert (ticket.first_response_due, ticket.solution_due) == (
        _utc("2026-03-02 08:15"),
        None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        service_levels.set_ticket_service_level(alice, ticket.pk, None)
    ticket.refresh_from_db()
    assert ticket.first_response_due == _utc("2026-03-02 10:00")


def test_changing_the_queues_service_level_recomputes_its_open_tickets(
    desk, clock, django_capture_on_commit_callbacks
):
    queue, _ = desk
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(queue)
    with django_capture_on_commit_callbacks(execute=True):
        service_levels.save_service_level(None, "Standard", LevelChange(update=-1))
        service_levels.save_service_level(
            None, "Standard", LevelChange(first_response=30)
        )
    ticket.refresh_from_db()
    assert ticket.first_response_due == _utc("2026-03-02 08:30")
    with django_capture_on_commit_callbacks(execute=True):
        service_levels.set_queue_service_level(None, queue, None)
    ticket.refresh_from_db()
    assert ticket.escalation_at is None


def test_recomputing_many_tickets_costs_the_same_queries_as_few(
    desk, clock, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    queue, alice = desk
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        few = [make_ticket(queue).pk for _ in range(2)]
        many = [make_ticket(queue).pk for _ in range(20)]
    for pk in many:
        _do("reply", Ticket.objects.get(pk=pk), alice)
        _do("customer", Ticket.objects.get(pk=pk), alice)
    Ticket.objects.filter(pk__in=few + many).update(escalation_at=None)
    with CaptureQueriesContext(connection) as small:
        escalations.recompute(few)
    with CaptureQueriesContext(connection) as large:
        assert escalations.recompute(many) == len(many)
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(large.captured_queries) <= 10
    assert Ticket.objects.filter(pk__in=many, update_due__isnull=False).count() == 20


def test_bad_configuration_is_refused_clearly(desk):
    from helpline.errors import InvalidInput, NotFound

    with pytest.raises(InvalidInput, match="time zone"):
        service_levels.save_calendar(
            None, "X", time_zone_name="Nowhere", hours="mon 09:00-10:00"
        )
    with pytest.raises(InvalidInput, match="not a time"):
        service_levels.save_calendar(None, "X", hours="mon 9-10")
    with pytest.raises(InvalidInput, match="not available"):
        service_levels.save_calendar(None, "X", hours="mon 09:00-10:00", country="XX")
    with pytest.raises(InvalidInput, match="date"):
        service_levels.save_calendar(
            None, "X", hours="mon 09:00-10:00", extra_holidays=["24.12.2026"]
        )
    with pytest.raises(NotFound):
        service_levels.save_service_level(None, "Y", LevelChange(calendar="Nope"))
    with pytest.raises(InvalidInput, match="minutes"):
        service_levels.save_service_level(
            None, "Y", LevelChange(calendar="Berlin office", solution=-5)
        )
    from helpline.models import Calendar, ServiceLevel

    assert not Calendar.objects.filter(name="X").exists()
    assert not ServiceLevel.objects.filter(name="Y").exists()


def test_a_calendar_in_use_is_not_deleted(desk):
    from helpline.errors import Conflict

    with pytest.raises(Conflict):
        service_levels.delete_calendar(None, "Berlin office")
    with pytest.raises(Conflict):
        service_levels.delete_service_level(None, "Standard")
    service_levels.delete_calendar(None, "New York office")
