"""Ticket numbers: the generators, and the ticket hook in subjects (BEHAVIOUR.md s. 1)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    """Add ``count`` to the counter row ``key`` and return the new value (the last of
    the ``count`` numbers); call inside a transaction.

    One ``UPDATE ... RETURNING``: the row lock it takes serialises concurrent
    creators on PostgreSQL until the commit; SQLite serialises all writers anyway
    (IMMEDIATE transactions).  Because the increment belongs to the creating
    transaction, a creation that rolls back gives its number back: no gaps.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("ticket numbers are drawn inside the creating transaction")
    q = connection.ops.quote_name
    table, column, value = q(TicketCounter._meta.db_table), q("key"), q("value")
    sql = (
        f"UPDATE {table} SET {value} = {value} + %s "  # noqa: S608
        f"WHERE {column} = %s RETURNING {value}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, key])
        row = cursor.fetchone()
        if row is None:  # the first ticket of the day (or ever)
            TicketCounter.objects.bulk_create(
                [TicketCounter(key=key, value=0)], ignore_conflicts=True
            )
            cursor.execute(sql, [count, key])
            row = cursor.fetchone()
    return int(row[0])


# A counter this far behind the numbers already taken is a misconfiguration (an
# import whose "ticket counters" phase did not run), not something to walk past.
MAX_ROUNDS = 1000


def _free_numbers(generator: str, key: str, count: int) -> list[str]:
    """``count`` numbers from the counter ``key``, skipping numbers that tickets
    already carry (imported from another system with the same number format):
    one statement to draw and one to check, however many are asked for."""
    found: list[str] = []
    for _ in range(MAX_ROUNDS):
        need = count - len(found)
        last = _next_counter(key, need)
        candidates = [
            _number(generator, key, value) for value in range(last - need + 1, last + 1)
        ]
        taken = set(
            Ticket.objects.filter(number__in=candidates).values_list(
                "number", flat=True
            )
        )
        found += [n for n in candidates if n not in taken]
        if len(found) == count:
            return found
    raise RuntimeError(
        f"ticket counter {key!r} is far behind the numbers already taken: "
        "run the importer's 'ticket counters' phase (docs/migrating-from-znuny.md)"
    )


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
    return _free_numbers(generator, key, 1)[0]


def position(number: str) -> tuple[str, int] | None:
    """Where ``number`` stands in the current generator's sequence: (counter key,
    counter value), or None when it is not a number the generator could make
    (another format, another system id)."""
    generator = _generator()
    system_id = settings.HELPLINE_SYSTEM_ID
    if not number.isdigit():
        return None
    if generator == "AutoIncrement":
        rest = number.removeprefix(system_id)
        if rest == number or len(rest) < MIN_COUNTER_DIGITS:
            return None
        return "auto", int(rest)
    day, rest = number[:8], number[8:]
    if not rest.startswith(system_id):
        return None
    rest = rest[len(system_id) :]
    if generator == "DateChecksum":
        if len(rest) < MIN_COUNTER_DIGITS + 1:
            return None
        if int(rest[-1]) != check_digit(number[:-1]):
            return None
        rest = rest[:-1]
    if len(rest) < MIN_COUNTER_DIGITS:
        return None
    return day, int(rest)


def advance_counters(at_least: dict[str, int]) -> int:
    """Raise counters to at least these values (never lower one): after an import,
    new numbers continue above the imported ones.  Returns how many moved."""
    with transaction.atomic():
        TicketCounter.objects.bulk_create(
            [TicketCounter(key=key, value=0) for key in at_least],
            ignore_conflicts=True,
        )
        rows = TicketCounter.objects.select_for_update().filter(key__in=at_least)
        behind = [c for c in rows if c.value < at_least[c.key]]
        for counter in behind:
            counter.value = at_least[counter.key]
        TicketCounter.objects.bulk_update(behind, ["value"], batch_size=1000)
    return len(behind)


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
            drawn = _free_numbers(generator, key, len(mine))
            self.assigned.update(zip(mine, drawn, strict=True))
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


@dataclass(frozen=True)
class LegacyHook:
    """How another system (OTRS, Znuny) wrote its ticket numbers in subjects, so that
    replies to mail it sent still find their (imported) tickets.

    The forms recognised are the ones Znuny's number generators recognise: the hook,
    the divider and the number, or the hook, a colon, up to two spaces and the number;
    the number as its generator makes them (``system_id`` in it unless
    ``check_system_id`` is off)."""

    hook: str = "Ticket#"
    divider: str = ""
    system_id: str = "10"
    generator: str = "DateChecksum"  # DateChecksum | Date | AutoIncrement | Random
    min_counter_size: int = 5
    check_system_id: bool = True

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> LegacyHook:
        known = {f: value[f] for f in cls.__dataclass_fields__ if f in value}
        hook = cls(**known)
        if hook.generator not in LEGACY_GENERATORS or not hook.hook:
            raise ValueError(f"not a legacy ticket hook: {value!r}")
        return hook

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def number_pattern(self) -> str:
        sid = re.escape(self.system_id) if self.check_system_id else ""
        if self.generator == "DateChecksum":
            return rf"\d{{8}}{sid}\d{{4,40}}"
        if self.generator == "Date":
            return rf"\d{{8}}{sid}\d{{1,40}}"
        if self.generator == "AutoIncrement":
            low = int(self.min_counter_size) or 5
            return rf"{sid}\d{{{low},{low + 5}}}"
        return rf"{sid}\d{{2,20}}"  # Random

    def regex(self) -> re.Pattern[str]:
        number = self.number_pattern()
        return re.compile(
            # (?!\d): the whole number, never the first digits of a longer one.
            rf"{re.escape(self.hook + self.divider)}({number})(?!\d)"
            rf"|{re.escape(self.hook)}:\s{{0,2}}({number})(?!\d)",
            re.IGNORECASE,
        )


LEGACY_GENERATORS = ("DateChecksum", "Date", "AutoIncrement", "Random")
# The ``ImportedObject`` kind under which an import stores its source's hook.
LEGACY_HOOK_KIND = "ticket_hook"


def configured_legacy_hooks() -> list[LegacyHook]:
    """HELPLINE_LEGACY_TICKET_HOOKS (a list of dicts with LegacyHook's fields)."""
    return [LegacyHook.from_dict(v) for v in settings.HELPLINE_LEGACY_TICKET_HOOKS]


def _legacy_numbers(text: str, legacy: Sequence[LegacyHook]) -> list[str]:
    return [
        match.group(1) or match.group(2)
        for hook in legacy
        for match in hook.regex().finditer(text)
    ]


def _hook_regex() -> re.Pattern[str]:
    hook = re.escape(settings.HELPLINE_TICKET_HOOK)
    return re.compile(rf"{hook}\s?:?\s{{0,2}}({_number_pattern()})\b", re.IGNORECASE)


def numbers_in_subject(subject: str, *, legacy: Sequence[LegacyHook] = ()) -> list[str]:
    """Ticket numbers written with our hook in a subject, in order of appearance;
    then those written with the hooks of ``legacy`` systems (imported tickets keep
    their numbers)."""
    ours = [m.group(1) for m in _hook_regex().finditer(subject)]
    return list(dict.fromkeys([*ours, *_legacy_numbers(subject, legacy)]))


def numbers_in_text(text: str, *, legacy: Sequence[LegacyHook] = ()) -> list[str]:
    """Ticket numbers with our hook anywhere in a text (opt-in body matching)."""
    return numbers_in_subject(text, legacy=legacy)


def clean_subject(
    subject: str, number: str | None = None, *, legacy: Sequence[LegacyHook] = ()
) -> str:
    """Remove reply/forward prefixes and the ticket hook (ours, and those of
    ``legacy`` systems); cut to the configured length."""
    hook = re.escape(settings.HELPLINE_TICKET_HOOK)
    num = re.escape(number) if number else _number_pattern()
    text = subject
    for old in legacy:
        pattern = old.regex().pattern
        text = re.sub(
            rf"\[\s*(?:{pattern})\s*\]\s*|(?:{pattern})\s*", "", text, flags=re.I
        )
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
