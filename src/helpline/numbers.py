"""Ticket numbers: the generators, and the ticket hook in subjects (BEHAVIOUR.md s. 1)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from helpline.models import Ticket, TicketCounter

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


def _next_counter(key: str, count: int = 1) -> int:
    """Add ``count`` to the counter row ``key`` under a row lock and return the new
    value (the last of the ``count`` numbers); call inside a transaction.

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
    counter.value += count
    counter.save(update_fields=["value"])
    return counter.value


def _counter_key(generator: str, now: datetime | None) -> str:
    if generator == "AutoIncrement":
        return "auto"
    return timezone.localtime(now or timezone.now()).strftime("%Y%m%d")


def _number(generator: str, key: str, counter: int) -> str:
    system_id = settings.HELPLINE_SYSTEM_ID
    if generator == "AutoIncrement":
        return f"{system_id}{counter:0{MIN_COUNTER_DIGITS}d}"
    base = f"{key}{system_id}{counter:0{MIN_COUNTER_DIGITS}d}"
    if generator == "Date":
        return base
    return f"{base}{check_digit(base)}"


def next_ticket_number(now: datetime | None = None) -> str:
    """The next number; inside ``numbered_late`` a stand-in replaced at its end."""
    late: LateNumbers | None = getattr(_late, "numbers", None)
    if late is not None:
        return late.stand_in(now or timezone.now())
    generator = _generator()
    key = _counter_key(generator, now)
    return _number(generator, key, _next_counter(key))


# --- numbers drawn at the end of a batch ---------------------------------------------

_late = threading.local()


class LateNumbers:
    """Tickets created in a ``numbered_late`` block: stand-in numbers, then real ones."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, datetime]] = []
        # Stand-in -> real number, once drawn.
        self.assigned: dict[str, str] = {}

    def stand_in(self, now: datetime) -> str:
        # Unique, never a real number (those are digits), and never committed.
        number = f"~{uuid.uuid4().hex}"
        self.pending.append((number, now))
        return number

    def draw(self) -> None:
        """Number the tickets still there (not rolled back), in the order they were
        created: one counter update per day."""
        if not self.pending:
            return
        alive = dict(
            Ticket.objects.filter(number__in=[n for n, _ in self.pending]).values_list(
                "number", "pk"
            )
        )
        generator = _generator()
        keyed = [
            (n, _counter_key(generator, now)) for n, now in self.pending if n in alive
        ]
        for key in dict.fromkeys(k for _, k in keyed):
            mine = [n for n, k in keyed if k == key]
            last = _next_counter(key, len(mine))
            first = last - len(mine) + 1
            for offset, stand_in in enumerate(mine):
                self.assigned[stand_in] = _number(generator, key, first + offset)
        if self.assigned:
            self._renumber()

    def _renumber(self) -> None:
        # One statement for all; Django's Case(When(...)) costs ~0.2 ms of CPU per
        # ticket to compile.  Identifiers quoted, every value a parameter.
        connection = transaction.get_connection()
        table = connection.ops.quote_name(Ticket._meta.db_table)
        column = connection.ops.quote_name("number")
        pairs = list(self.assigned.items())
        cases = " ".join(["WHEN %s THEN %s"] * len(pairs))
        marks = ", ".join(["%s"] * len(pairs))
        sql = (
            f"UPDATE {table} SET {column} = CASE {column} {cases} END "  # noqa: S608
            f"WHERE {column} IN ({marks})"
        )
        params = [v for pair in pairs for v in pair] + [s for s, _ in pairs]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@contextmanager
def numbered_late() -> Iterator[LateNumbers]:
    """Tickets created in this block get stand-in numbers and their real ones at its
    end, in the order they were created: the counter's row is locked from then until
    the commit, rather than from the first ticket on.  For a batch that creates
    several tickets in one transaction; use inside it.  Tickets rolled back meanwhile
    (a savepoint) draw no number, so there are still no gaps.  In-memory tickets
    keep their stand-in: ``assigned`` maps it to the real number.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ticket numbers are drawn inside the creating transaction")
    if getattr(_late, "numbers", None) is not None:
        raise RuntimeError("numbered_late blocks do not nest")
    late = _late.numbers = LateNumbers()
    try:
        yield late
    finally:
        _late.numbers = None
    late.draw()


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
