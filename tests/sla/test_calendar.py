"""Business time across weekends, holidays and both DST changes, to the minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpline.sla.calendar import (
    BusinessCalendar,
    CalendarError,
    Holidays,
    add_business_minutes,
    business_minutes_between,
    format_hours,
    parse_hours,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = parse_hours("mon-fri 09:00-17:00")
ALWAYS = parse_hours("mon-sun 00:00-24:00")


def _calendar(zone: str, hours=OFFICE, country: str = "", sub: str = "", extra=()):
    return BusinessCalendar.build(
        time_zone_name=zone,
        hours=hours,
        holidays=Holidays(country, sub, [date.fromisoformat(d) for d in extra]),
    )


BERLIN_OFFICE = _calendar("Europe/Berlin", country="DE", sub="BE", extra=["2026-12-24"])
NEW_YORK_OFFICE = _calendar("America/New_York", country="US", sub="NY")
BERLIN_ALWAYS = _calendar("Europe/Berlin", ALWAYS)
NEW_YORK_ALWAYS = _calendar("America/New_York", ALWAYS)
BERLIN_NIGHT = _calendar("Europe/Berlin", parse_hours("sun 01:00-04:00"))


def _at(zone, text):
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def _utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (what, calendar, start (local), business minutes, expected due (UTC))
ADD_CASES = [
    ("within a day", BERLIN_OFFICE, "2026-03-02 10:00", 60, "2026-03-02 10:00"),
    ("over the evening", BERLIN_OFFICE, "2026-03-02 16:30", 60, "2026-03-03 08:30"),
    ("starting at night", BERLIN_OFFICE, "2026-03-02 20:00", 30, "2026-03-03 08:30"),
    (
        "starting on a Saturday",
        BERLIN_OFFICE,
        "2026-03-07 10:00",
        1,
        "2026-03-09 08:01",
    ),
    ("to the end of a day", BERLIN_OFFICE, "2026-03-02 09:00", 480, "2026-03-02 16:00"),
    ("a whole week", BERLIN_OFFICE, "2026-03-02 09:00", 5 * 480, "2026-03-06 16:00"),
    (
        "weekend with the clocks going forward",
        BERLIN_OFFICE,
        "2026-03-27 16:00",
        120,
        "2026-03-30 08:00",
    ),
    (
        "Good Friday and Easter Monday",
        BERLIN_OFFICE,
        "2026-04-02 16:00",
        120,
        "2026-04-07 08:00",
    ),
    (
        "weekend with the clocks going back",
        BERLIN_OFFICE,
        "2026-10-23 16:00",
        120,
        "2026-10-26 09:00",
    ),
    (
        "added holiday, Christmas and a weekend",
        BERLIN_OFFICE,
        "2026-12-23 16:30",
        60,
        "2026-12-28 08:30",
    ),
    (
        "New York: clocks forward",
        NEW_YORK_OFFICE,
        "2026-03-06 16:00",
        120,
        "2026-03-09 14:00",
    ),
    (
        "New York: clocks back",
        NEW_YORK_OFFICE,
        "2026-10-30 16:00",
        120,
        "2026-11-02 15:00",
    ),
    (
        "New York: Independence Day observed on a Friday",
        NEW_YORK_OFFICE,
        "2026-07-02 16:00",
        120,
        "2026-07-06 14:00",
    ),
    (
        "New York: Thanksgiving",
        NEW_YORK_OFFICE,
        "2026-11-25 16:00",
        120,
        "2026-11-27 15:00",
    ),
    (
        "round the clock: the short day is 23 hours",
        BERLIN_ALWAYS,
        "2026-03-28 12:00",
        24 * 60,
        "2026-03-29 11:00",
    ),
    (
        "round the clock: the long day is 25 hours",
        BERLIN_ALWAYS,
        "2026-10-24 12:00",
        24 * 60,
        "2026-10-25 10:00",
    ),
    (
        "round the clock in New York, clocks forward",
        NEW_YORK_ALWAYS,
        "2026-03-08 00:00",
        180,
        "2026-03-08 08:00",
    ),
    (
        "a window across the change: 02:00 to 03:00 does not exist",
        BERLIN_NIGHT,
        "2026-03-29 01:00",
        90,
        "2026-03-29 01:30",
    ),
    (
        "a window across the change back: 02:00 to 03:00 twice",
        BERLIN_NIGHT,
        "2026-10-25 01:00",
        200,
        "2026-10-25 02:20",
    ),
    (
        "half a year of working time",
        BERLIN_OFFICE,
        "2026-01-05 09:00",
        120 * 480,
        "2026-06-26 15:00",
    ),
]


@pytest.mark.parametrize(
    ("calendar", "start", "minutes", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in ADD_CASES],
)
def test_adding_business_minutes(calendar, start, minutes, expected):
    due = add_business_minutes(calendar, _at(calendar.zone, start), minutes)
    assert due == _utc(expected)
    # And back: the time between is what was added.
    moment = _at(calendar.zone, start)
    assert business_minutes_between(calendar, moment, due) == minutes


# (what, calendar, from (local), until (local), business minutes)
BETWEEN_CASES = [
    ("the short day", BERLIN_ALWAYS, "2026-03-29 00:00", "2026-03-30 00:00", 23 * 60),
    ("the long day", BERLIN_ALWAYS, "2026-10-25 00:00", "2026-10-26 00:00", 25 * 60),
    (
        "New York's long day",
        NEW_YORK_ALWAYS,
        "2026-11-01 00:00",
        "2026-11-02 00:00",
        1500,
    ),
    (
        "night window, forward",
        BERLIN_NIGHT,
        "2026-03-29 00:00",
        "2026-03-29 05:00",
        120,
    ),
    ("night window, back", BERLIN_NIGHT, "2026-10-25 00:00", "2026-10-25 05:00", 240),
    ("a weekend", BERLIN_OFFICE, "2026-03-06 17:00", "2026-03-09 09:00", 0),
    ("Easter", BERLIN_OFFICE, "2026-04-02 00:00", "2026-04-08 00:00", 2 * 480),
    ("backwards is none", BERLIN_OFFICE, "2026-03-03 12:00", "2026-03-02 12:00", 0),
    ("parts of two days", BERLIN_OFFICE, "2026-03-02 16:15", "2026-03-03 09:20", 65),
]


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in BETWEEN_CASES],
)
def test_business_minutes_between(calendar, start, end, expected):
    zone = calendar.zone
    assert business_minutes_between(calendar, _at(zone, start), _at(zone, end)) == (
        expected
    )


def test_working_hours_are_written_and_read_back():
    hours = parse_hours("mon-thu 08:00-12:00,13:00-16:30; fri 08:00-12:00")
    assert hours["wed"] == ["08:00-12:00", "13:00-16:30"]
    assert "sat" not in hours
    assert parse_hours(format_hours(hours)) == hours


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "mon 9-17",
        "mon 17:00-09:00",
        "mon 09:00-12:00,11:00-13:00",
        "fri-mon 09:00-17:00",
        "mon 09:00-25:00",
        "mon-fri 09:00-17:00; wed 10:00-11:00",
        "someday 09:00-17:00",
    ],
)
def test_bad_working_hours_are_refused_clearly(spec):
    with pytest.raises(CalendarError):
        parse_hours(spec)


def test_unknown_country_region_and_zone_are_refused():
    with pytest.raises(CalendarError, match="XX"):
        Holidays("XX")
    with pytest.raises(CalendarError, match="ZZ"):
        Holidays("DE", "ZZ")
    with pytest.raises(CalendarError, match="Mars/Olympus"):
        _calendar("Mars/Olympus")


def test_a_region_has_its_own_holidays():
    """Epiphany is a holiday in Bavaria, not in Berlin."""
    bavaria = _calendar("Europe/Berlin", country="DE", sub="BY")
    start = _at(BERLIN, "2026-01-05 16:00")  # Monday
    assert add_business_minutes(bavaria, start, 120) == _utc("2026-01-07 09:00")
    assert add_business_minutes(BERLIN_OFFICE, start, 120) == _utc("2026-01-06 09:00")


def test_a_calendar_without_working_time_is_an_error_not_a_loop():
    with pytest.raises(CalendarError):
        _calendar("UTC", {})
    every_day = Holidays(
        extra=[date(2026, 1, 1) + timedelta(days=n) for n in range(366 * 31)]
    )
    closed = BusinessCalendar.build(
        time_zone_name="UTC", hours=OFFICE, holidays=every_day
    )
    with pytest.raises(CalendarError, match="No working time"):
        add_business_minutes(closed, _utc("2026-01-01 00:00"), 1)


def test_naive_moments_are_refused():
    with pytest.raises(CalendarError, match="aware"):
        add_business_minutes(BERLIN_OFFICE, datetime(2026, 3, 2, 10, 0), 5)  # noqa: DTZ001
