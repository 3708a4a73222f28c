"""Ticket numbers: the generators, and the ticket hook in subjects (BEHAVIOUR.md s. 1)."""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from helpline.models import TicketCounter

GENERATORS = ("DateChecksum", "Date", "AutoIncrement")
MIN_COUNTER_DIGITS = 5


def check_digit(digits: str) -> int:
    """OTRS's DateChecksum check digit: weights 1,2,1,2,... left to right."""
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(digits))
    c = 10 - (total % 10)
    return 1 if c == 10 else c


def _generator() -> str:
    name = settings.HELPLINE_TICKET_NUMBER_GENERATOR
    if name not in GENERATORS:
        raise ValueError(
            f"HELPLINE_TICKET_NUMBER_GENERATOR={name!r}: use one of {', '.join(GENERATORS)}"
        )
    return name


def _next_counter(key: str) -> int:
    """Increment the counter row ``key`` under a row lock; call inside a transaction.

    The row lock serialises concurrent creators on PostgreSQL; SQLite serialises all
    writers anyway (IMMEDIATE transactions).  Because the increment belongs to the
    creating transaction, a creation that rolls back gives its number back: no gaps.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ticket numbers are drawn inside the creating transaction")
    counter = TicketCounter.objects.select_for_update().filter(key=key).first()
    if counter is None:  # the first ticket of the day (or ever)
        TicketCounter.objects.bulk_create(
            [TicketCounter(key=key, value=0)], ignore_conflicts=True
        )
        counter = TicketCounter.objects.select_for_update().get(key=key)
    counter.value += 1
    counter.save(update_fields=["value"])
    return counter.value


def next_ticket_number(now: datetime | None = None) -> str:
    generator = _generator()
    system_id = settings.HELPLINE_SYSTEM_ID
    if generator == "AutoIncrement":
        counter = _next_counter("auto")
        return f"{system_id}{counter:0{MIN_COUNTER_DIGITS}d}"
    day = timezone.localtime(now or timezone.now()).strftime("%Y%m%d")
    counter = _next_counter(day)
    base = f"{day}{system_id}{counter:0{MIN_COUNTER_DIGITS}d}"
    if generator == "Date":
        return base
    return f"{base}{check_digit(base)}"


# --- the subject hook --------------------------------------------------------------------

# Reply and forward prefixes in common languages, with counters like "Re[2]:" or "Re^3:".
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|antwort|r|ref|rif|odp|res|tr|wg|fw|fwd|rv|enc|doorst|"
    r"vb|vl|fs|wtr)(?:\s*[\[(^]?\d+[\])]?)?\s*[:：]\s*)+",
    re.IGNORECASE,
)


def _number_pattern() -> str:
    system_id = re.escape(settings.HELPLINE_SYSTEM_ID)
    if _generator() == "AutoIncrement":
        return rf"{system_id}\d{{{MIN_COUNTER_DIGITS},20}}"
    return rf"\d{{8}}{system_id}\d{{{MIN_COUNTER_DIGITS},30}}"


def _hook_regex() -> re.Pattern[str]:
    hook = re.escape(settings.HELPLINE_TICKET_HOOK)
    return re.compile(rf"{hook}\s?:?\s{{0,2}}({_number_pattern()})\b", re.IGNORECASE)


def numbers_in_subject(subject: str) -> list[str]:
    """Ticket numbers written with our hook in a subject, in order of appearance."""
    return [m.group(1) for m in _hook_regex().finditer(subject)]


def numbers_in_text(text: str) -> list[str]:
    """Ticket numbers with our hook anywhere in a text (opt-in body matching)."""
    return numbers_in_subject(text)


def clean_subject(subject: str, number: str | None = None) -> str:
    """Remove reply/forward prefixes and the ticket hook; cut to the configured length."""
    hook = re.escape(settings.HELPLINE_TICKET_HOOK)
    num = re.escape(number) if number else _number_pattern()
    text = subject
    # Alternate: prefixes can stand before and after the hook ("Re: [Ticket#1] AW: x").
    for _ in range(5):
        before = text
        text = _PREFIX.sub("", text)
        text = re.sub(rf"\[\s*{hook}\s?:?\s{{0,2}}{num}\s*\]\s*", "", text, flags=re.I)
        text = re.sub(rf"{hook}\s?:?\s{{0,2}}{num}\s*", "", text, flags=re.I)
        text = text.strip()
        if text == before:
            break
    limit = settings.HELPLINE_SUBJECT_MAX_LENGTH
    if limit and len(text) > limit:
        text = text[:limit].rstrip() + " [...]"
    return text


def build_subject(number: str, subject: str, *, prefix: str = "") -> str:
    """``[Ticket#N] subject`` (hook position from settings), never doubled."""
    cleaned = clean_subject(subject, number)
    tag = f"[{settings.HELPLINE_TICKET_HOOK}{number}]"
    position = settings.HELPLINE_TICKET_HOOK_POSITION.lower()
    if position == "none":
        body = cleaned
    elif position == "right":
        body = f"{cleaned} {tag}".strip()
    else:
        body = f"{tag} {cleaned}".strip()
    return f"{prefix}{body}" if prefix else body
