"""Ticket numbers and the subject hook (BEHAVIOUR.md section 1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from helpline import numbers


def test_check_digit_matches_the_otrs_example():
    assert numbers.check_digit("202406261000001") == 1


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("202611241000012", 6), ("000000000000000", 1), ("1", 9), ("19", 1)],
)
def test_check_digit_weights_alternate_one_and_two(digits, expected):
    assert numbers.check_digit(digits) == expected


@pytest.mark.django_db
def test_date_checksum_numbers_count_up_per_day(settings):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = "DateChecksum"
    day = datetime(2026, 11, 24, 12, tzinfo=UTC)
    with transaction.atomic():
        first = numbers.next_ticket_number(day)
        second = numbers.next_ticket_number(day)
        next_day = numbers.next_ticket_number(day.replace(day=25))
    assert first == "2026112410000019"
    assert second[:-1] == "202611241000002"
    assert second[-1] == str(numbers.check_digit(second[:-1]))
    assert next_day.startswith("202611251000001")


@pytest.mark.django_db
def test_auto_increment_numbers_carry_the_system_id(settings):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = "AutoIncrement"
    settings.HELPLINE_SYSTEM_ID = "42"
    with transaction.atomic():
        assert numbers.next_ticket_number() == "4200001"
        assert numbers.next_ticket_number() == "4200002"


@pytest.mark.django_db
def test_a_rolled_back_creation_gives_its_number_back(settings):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = "AutoIncrement"
    with pytest.raises(RuntimeError), transaction.atomic():
        numbers.next_ticket_number()
        raise RuntimeError("creation failed")
    with transaction.atomic():
        assert numbers.next_ticket_number() == "1000001"


def test_an_unknown_generator_is_a_clear_error(settings):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = "Random"
    with pytest.raises(ValueError, match="use one of"):
        numbers.numbers_in_subject("x")


@pytest.mark.parametrize(
    "subject",
    [
        "[Ticket#2026112410000019] Hello",
        "Re: [Ticket#2026112410000019] Hello",
        "AW: Ticket#: 2026112410000019 Hello",
        "ticket#:2026112410000019",
        "Hello [TICKET#2026112410000019]",
    ],
)
def test_numbers_are_found_in_the_forms_otrs_recognises(subject):
    assert numbers.numbers_in_subject(subject) == ["2026112410000019"]


def test_numbers_of_another_system_id_are_not_recognised():
    assert numbers.numbers_in_subject("[Ticket#2026112499000019] Hello") == []


@pytest.mark.parametrize(
    ("subject", "clean"),
    [
        ("Re: [Ticket#2026112410000019] Hello", "Hello"),
        ("AW: WG: Re[2]: Hello", "Hello"),
        ("SV: VS: RE: Fw: TR: R: Antw: Hello", "Hello"),
        ("Re: [Ticket#2026112410000019] AW: Hello", "Hello"),
        ("Re^3: Hello", "Hello"),
        ("Regarding the photo", "Regarding the photo"),
    ],
)
def test_cleaning_removes_prefixes_and_the_hook(subject, clean):
    assert numbers.clean_subject(subject) == clean


def test_cleaning_cuts_long_subjects(settings):
    settings.HELPLINE_SUBJECT_MAX_LENGTH = 10
    assert numbers.clean_subject("A" * 30) == "AAAAAAAAAA [...]"


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ("left", "[Ticket#2026112410000019] Hello"),
        ("right", "Hello [Ticket#2026112410000019]"),
        ("none", "Hello"),
    ],
)
def test_building_a_subject_never_doubles_the_hook(settings, position, expected):
    settings.HELPLINE_TICKET_HOOK_POSITION = position
    built = numbers.build_subject(
        "2026112410000019", "Re: [Ticket#2026112410000019] Hello"
    )
    assert built == expected
    assert numbers.build_subject("2026112410000019", built) == expected
