"""Dates, times and numbers in the active language and time zone.

Pages show times in the agent's time zone (``web/timezones.py`` activates it) and in
the agent's language's formats (Django's ``SHORT_DATETIME_FORMAT`` and friends:
``12/07/2026 3:22 p.m.`` in English, ``07.12.2026 15:22`` in German), and mails to an
agent do the same in the recipient's (``responses/agent_mail.py``).  Machine-readable
values (``<time datetime>``, form inputs, CSV, the API) stay ISO.

Ticket lists and the zoom format many dates per page, and ``django.utils.dateformat``
builds an object per call: a format made of numbers only (most short formats) is
turned once per language into a ``str.format`` pattern, which is much faster; any
other falls back to Django's own formatter.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import dateformat, formats, timezone
from django.utils.translation import get_language

# Django's format characters that are numbers only, as str.format fields.
_NUMERIC = {
    "d": "{0.day:02d}",
    "j": "{0.day}",
    "m": "{0.month:02d}",
    "n": "{0.month}",
    "Y": "{0.year}",
    "H": "{0.hour:02d}",
    "G": "{0.hour}",
    "i": "{0.minute:02d}",
    "s": "{0.second:02d}",
}


@lru_cache(maxsize=256)
def _pattern(language: str | None, name: str) -> tuple[str, str | None]:
    """The Django format ``name`` of ``language`` and, if it is made of numbers
    only, the same as a ``str.format`` pattern."""
    fmt = str(formats.get_format(name, lang=language))
    if "\\" in fmt:
        return fmt, None
    parts = []
    for char in fmt:
        if char in _NUMERIC:
            parts.append(_NUMERIC[char])
        elif char.isalpha():
            return fmt, None  # a name (month, a.m.) to translate: Django's way
        else:
            parts.append(char.replace("{", "{{").replace("}", "}}"))
    return fmt, "".join(parts)


def formatted(value: date, name: str) -> str:
    """``value`` in the active language's format ``name`` (SHORT_DATE_FORMAT ...)."""
    fmt, pattern = _pattern(get_language(), name)
    if pattern is not None:
        return pattern.format(value)
    return dateformat.format(value, fmt)


def zone_of(name: str | None) -> ZoneInfo | None:
    """The time zone named ``name``; None when empty or unknown (the site's then)."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # a zone this machine's tzdata no longer has


def zone_name() -> str:
    """The name of the current time zone (Europe/Berlin), to say which one."""
    return timezone.get_current_timezone_name()


def site_time(value: datetime | None = None) -> datetime:
    """``value`` (default: now) on the site's clock (settings.TIME_ZONE), whoever is
    looking: what goes to customers (placeholders, the quote header of a reply) does
    not depend on which agent's time zone the request runs in."""
    return timezone.localtime(value, timezone.get_default_timezone())


def local(value: datetime) -> datetime:
    """``value`` in the current time zone (a naive value is taken as it is)."""
    return timezone.localtime(value) if timezone.is_aware(value) else value


def short_datetime(value: datetime | None) -> str:
    """Date and time, short: ``07.12.2026 15:22``; "" for None."""
    return "" if value is None else formatted(local(value), "SHORT_DATETIME_FORMAT")


def long_datetime(value: datetime | None) -> str:
    """Date and time, long, for a tooltip: ``7. Dezember 2026 15:22``."""
    return "" if value is None else formatted(local(value), "DATETIME_FORMAT")


def short_date(value: date | None) -> str:
    """A day, short: ``07.12.2026``; "" for None."""
    return "" if value is None else formatted(value, "SHORT_DATE_FORMAT")


def number(value: int | float | Decimal, decimal_pos: int | None = None) -> str:
    """A number with the language's decimal and thousands separators (1,234.5;
    1.234,5), always grouped: counts and durations are read, not copied."""
    return formats.number_format(value, decimal_pos, force_grouping=True)
