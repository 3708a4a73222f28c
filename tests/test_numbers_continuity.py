"""Numbers after an import (docs/migrating-from-znuny.md): new numbers skip those
already taken, counters are raised above imported numbers, and the subject hooks of
the replaced system are still recognised."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from helpline import numbers
from helpline.models import Ticket, TicketCounter
from tests.support import make_ticket

DAY = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _take(queue, number: str) -> None:
    """A ticket carrying ``number`` without the counter knowing (as an import writes)."""
    ticket = make_ticket(queue, title=f"imported {number}")
    Ticket.objects.filter(pk=ticket.pk).update(number=number)


@pytest.mark.django_db
def test_a_new_number_skips_numbers_already_taken(queue, settings):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = "AutoIncrement"
    TicketCounter.objects.update_or_create(key="auto", defaults={"value": 0})
    _take(queue, "1000001")
    _take(queue, "1000002")
    with transaction.atomic():
        assert numbers.next_ticket_number() == "1000003"
        assert numbers.next_ticket_number() == "1000004"


@pytest.mark.django_db
def test_a_batch_numbered_late_skips_numbers_already_taken(queue, settings):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = "DateChecksum"
    TicketCounter.objects.filter(key="20261124").delete()
    taken = numbers._number("DateChecksum", "20261124", 2)
    _take(queue, taken)
    with transaction.atomic(), numbers.numbered_late() as late:
        stand_ins = [numbers.next_ticket_number(DAY) for _ in range(3)]
        for stand_in in stand_ins:
            ticket = make_ticket(queue, title="new")
            Ticket.objects.filter(pk=ticket.pk).update(number=stand_in)
    drawn = [late.assigned[s] for s in stand_ins]
    assert taken not in drawn
    assert [numbers.position(n) for n in drawn] == [
        ("20261124", 1),
        ("20261124", 3),
        ("20261124", 4),
    ]
    assert (
        len(set(Ticket.objects.values_list("number", flat=True)))
        == Ticket.objects.count()
    )


@pytest.mark.parametrize(
    ("generator", "number", "expected"),
    [
        ("DateChecksum", "2026112410000019", ("20261124", 1)),
        ("DateChecksum", "2026112410001234" + "5", None),  # wrong check digit
        ("DateChecksum", "2026112499000019", None),  # another system id
        ("Date", "202611241000042", ("20261124", 42)),
        ("AutoIncrement", "10123456", ("auto", 123456)),
        ("AutoIncrement", "991234567", None),
        ("DateChecksum", "T-1", None),
    ],
)
def test_position_reads_numbers_of_the_own_format_only(
    settings, generator, number, expected
):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = generator
    settings.HELPLINE_SYSTEM_ID = "10"
    assert numbers.position(number) == expected


def test_position_of_a_long_counter_with_its_check_digit(settings):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = "DateChecksum"
    number = numbers._number("DateChecksum", "20261124", 1234567)
    assert numbers.position(number) == ("20261124", 1234567)


@pytest.mark.django_db
def test_counters_are_raised_never_lowered():
    TicketCounter.objects.create(key="20261124", value=50)
    TicketCounter.objects.create(key="20261125", value=5)
    moved = numbers.advance_counters({"20261124": 7, "20261125": 9, "20261126": 3})
    assert moved == 2
    assert dict(TicketCounter.objects.values_list("key", "value")) == {
        "20261124": 50,
        "20261125": 9,
        "20261126": 3,
    }


ZNUNY_12 = numbers.LegacyHook(hook="Ticket#", system_id="12")


@pytest.mark.parametrize(
    ("hook", "subject", "expected"),
    [
        (ZNUNY_12, "Re: [Ticket#2021012712123456] Hello", ["2021012712123456"]),
        (ZNUNY_12, "AW: Ticket#: 2021012712123456 Hello", ["2021012712123456"]),
        (ZNUNY_12, "[Ticket#2021012799123456] other system", []),
        (
            numbers.LegacyHook(hook="Call#", divider="::", system_id="7"),
            "RE: [Call#::20210127712345] x",
            ["20210127712345"],
        ),
        (
            numbers.LegacyHook(hook="TN", generator="AutoIncrement", system_id="3"),
            "Re: [TN3000042]",
            ["3000042"],
        ),
        (
            numbers.LegacyHook(system_id="12", check_system_id=False),
            "[Ticket#2021012799123456]",
            ["2021012799123456"],
        ),
        # Never the first digits of a longer number (another ticket's, or none).
        (
            numbers.LegacyHook(hook="TN", generator="AutoIncrement", system_id="3"),
            "Re: [TN3000042123456789]",
            [],
        ),
        (
            numbers.LegacyHook(hook="TN", generator="Random", system_id="3"),
            "Re: [TN3" + "1" * 25 + "]",
            [],
        ),
    ],
)
def test_legacy_hooks_find_numbers_as_the_old_system_wrote_them(
    hook, subject, expected
):
    assert numbers.numbers_in_subject(subject, legacy=[hook]) == expected


def test_without_legacy_hooks_an_old_system_id_is_not_recognised():
    assert numbers.numbers_in_subject("[Ticket#2021012712123456] Hello") == []


def test_clean_subject_removes_a_legacy_hook_too():
    subject = "Re: [Ticket#2021012712123456] AW: Printer on fire"
    assert numbers.clean_subject(subject, legacy=[ZNUNY_12]) == "Printer on fire"


def test_legacy_hooks_come_from_the_setting(settings):
    settings.HELPLINE_LEGACY_TICKET_HOOKS = [{"hook": "Ticket#", "system_id": "12"}]
    assert numbers.configured_legacy_hooks() == [ZNUNY_12]
    settings.HELPLINE_LEGACY_TICKET_HOOKS = [{"hook": "T#", "generator": "Mine"}]
    with pytest.raises(ValueError, match="not a legacy ticket hook"):
        numbers.configured_legacy_hooks()
