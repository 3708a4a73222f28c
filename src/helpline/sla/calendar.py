"""Business time: working hours, holidays and a time zone (docs/service-levels.md).

A pure module (no database): ``BusinessCalendar`` answers "the moment N business
minutes after this one" and "how many business minutes lie between these two".
Both walk the calendar a day at a time, adding whole working windows, never a
minute at a time, so a span of months costs a few hundred steps.

Working hours are wall-clock times of the calendar's time zone; each day's windows
are turned into real moments through ``zoneinfo``, so a window keeps its local hours
across a DST change and counts the real time that passes within it (a 00:00-24:00
day is 23 hours long on the day the clocks go forward).  A window boundary that does
not exist locally (02:30 on that day) is read with the offset before the change, as
``zoneinfo`` does with ``fold=0``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# A calendar with working hours but every day a holiday for this long is a mistake,
# not a promise: adding time to it stops with an error instead of looping for ever.
MAX_DAYS = 366 * 30

Window = tuple[int, int]  # minutes after local midnight: [start, end), end <= 1440


class CalendarError(ValueError):
    """A calendar that cannot be: bad hours, an unknown time zone or country."""


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"Unknown time zone {name!r}.") from None


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _minutes(text: str) -> int:
    match = _CLOCK.match(text.strip())
    if not match:
        raise CalendarError(f"{text!r} is not a time like 09:00.")
    hours, minutes = int(match[1]), int(match[2])
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise CalendarError(f"{text!r} is not a time of day (00:00 to 24:00).")
    return hours * 60 + minutes


def _windows(spans: Iterable[str]) -> tuple[Window, ...]:
    windows: list[Window] = []
    for span in spans:
        start, sep, end = span.partition("-")
        if not sep:
            raise CalendarError(f"{span!r} is not a span like 09:00-17:00.")
        window = (_minutes(start), _minutes(end))
        if window[0] >= window[1]:
            raise CalendarError(f"{span!r} ends before it starts.")
        windows.append(window)
    windows.sort()
    for before, after in zip(windows, windows[1:], strict=False):
        if after[0] < before[1]:
            raise CalendarError("Working hours of a day overlap.")
    return tuple(windows)


def parse_hours(spec: str) -> dict[str, list[str]]:
    """Working hours written as ``mon-fri 09:00-17:00; sat 10:00-12:00,13:00-15:00``
    into the stored form ``{"mon": ["09:00-17:00"], ...}`` (days not named: none)."""
    hours: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        days, _, spans = part.partition(" ")
        names = _day_range(days.strip().lower())
        listed = [s.strip() for s in spans.split(",") if s.strip()]
        if not listed:
            raise CalendarError(f"{part!r} names no hours.")
        _windows(listed)
        for name in names:
            if name in hours:
                raise CalendarError(f"{name} is named twice.")
            hours[name] = listed
    if not hours:
        raise CalendarError("A calendar needs working hours.")
    return hours


def _day_range(text: str) -> list[str]:
    first, sep, last = text.partition("-")
    for name in (first, last) if sep else (first,):
        if name not in DAY_NAMES:
            raise CalendarError(f"{name!r} is not a day (mon, tue, ... sun).")
    if not sep:
        return [first]
    start, end = DAY_NAMES.index(first), DAY_NAMES.index(last)
    if end < start:
        raise CalendarError(f"{text!r} runs backwards.")
    return list(DAY_NAMES[start : end + 1])


def format_hours(hours: Mapping[str, Sequence[str]]) -> str:
    """The stored form back as ``mon-fri 09:00-17:00; sat 10:00-12:00`` (runs of
    days with the same hours written as one range)."""
    parts: list[str] = []
    run: list[str] = []
    for day in (*DAY_NAMES, ""):
        if run and (not day or list(hours.get(day) or []) != list(hours[run[0]])):
            days = run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}"
            parts.append(f"{days} {','.join(hours[run[0]])}")
            run = []
        if day and hours.get(day):
            run.append(day)
    return "; ".join(parts)


@functools.lru_cache(maxsize=256)
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    """The ``holidays`` library's days of a country (and region) in a year; kept for
    the life of the process (they change with the library's version only)."""
    import holidays

    try:
        found = holidays.country_holidays(
            country, subdiv=subdivision or None, years=year
        )
    except NotImplementedError as error:
        raise CalendarError(str(error)) from None
    return frozenset(found.keys())


class Holidays:
    """Public holidays of a country (and region) from the ``holidays`` library, plus
    dates an admin added; the library's years are computed on first use."""

    def __init__(
        self, country: str = "", subdivision: str = "", extra: Iterable[date] = ()
    ) -> None:
        self.country = country.upper()
        self.subdivision = subdivision.upper()
        self.extra = frozenset(extra)
        self._years: dict[int, frozenset[date]] = {}
        if self.country:
            self._library(2000)  # an unknown country or region fails here, once

    def _library(self, year: int) -> frozenset[date]:
        days = self._years.get(year)
        if days is None:
            days = public_holidays(self.country, self.subdivision, year)
            self._years[year] = days
        return days

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day in self.extra:
            return True
        return bool(self.country) and day in self._library(day.year)


@dataclass
class BusinessCalendar:
    """Working windows per weekday (0 = Monday) in ``zone``, less ``holidays``."""

    zone: ZoneInfo
    week: tuple[tuple[Window, ...], ...]
    holidays: Container[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.week) != 7 or not any(self.week):
            raise CalendarError("A calendar needs working hours on some day.")

    @classmethod
    def build(
        cls,
        *,
        time_zone_name: str,
        hours: Mapping[str, Sequence[str]],
        holidays: Container[date] = frozenset(),
    ) -> BusinessCalendar:
        """From the stored form (``parse_hours``'s result)."""
        unknown = set(hours) - set(DAY_NAMES)
        if unknown:
            raise CalendarError(f"Unknown days: {', '.join(sorted(unknown))}.")
        week = tuple(_windows(hours.get(day, ())) for day in DAY_NAMES)
        return cls(zone=time_zone(time_zone_name), week=week, holidays=holidays)

    def _moment(self, day: date, minutes: int) -> datetime:
        if minutes == MINUTES_PER_DAY:
            day, minutes = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minutes // 60, minutes % 60), self.zone)
        return local.astimezone(UTC)

    def windows_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The working windows, as real moments (UTC), from local ``day`` on."""
        for offset in range(MAX_DAYS):
            current = day + timedelta(days=offset)
            if current in self.holidays:
                continue
            for start, end in self.week[current.weekday()]:
                yield self._moment(current, start), self._moment(current, end)
        raise CalendarError(f"No working time within {MAX_DAYS} days of {day}.")

    def _local_day(self, moment: datetime) -> date:
        if moment.tzinfo is None:
            raise CalendarError("Business time needs aware datetimes.")
        return moment.astimezone(self.zone).date()

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The moment when ``amount`` of working time has passed since ``start``."""
        first_day = self._local_day(start)
        start = start.astimezone(UTC)
        if amount <= timedelta(0):
            return start
        left = amount
        for begin, end in self.windows_from(first_day):
            if end <= start:
                continue
            begin = max(begin, start)
            if left <= end - begin:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable: windows_from ends by raising")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two moments (zero when ``end`` is not later)."""
        first_day = self._local_day(start)
        self._local_day(end)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        if end <= start:
            return total
        for begin, stop in self.windows_from(first_day):
            if begin >= end:
                break
            overlap = min(stop, end) - max(begin, start)
            if overlap > timedelta(0):
                total += overlap
        return total


def add_business_minutes(
    calendar: BusinessCalendar, start: datetime, minutes: int
) -> datetime:
    """The moment ``minutes`` business minutes after ``start``."""
    return calendar.add(start, timedelta(minutes=minutes))


def business_minutes_between(
    calendar: BusinessCalendar, start: datetime, end: datetime
) -> int:
    """Whole business minutes between ``start`` and ``end`` (0 if not later)."""
    return int(calendar.between(start, end) // timedelta(minutes=1))
