"""The search syntax: text in, a ``ParsedQuery`` out (no database access here).

    refund "bank transfer" zaż* -spam queue:info-en state:open created:>2026-01-01

Free words must all match; ``"a phrase"`` matches adjacent words; ``prefix*`` matches
words that start so; ``-term`` excludes; ``field:value`` filters (``FILTER_FIELDS``) or
restricts a text term to one part of the ticket (``TEXT_FIELDS``); any other
``word:text`` is text (``File:Lucia_3.jpg``), with a hint (``ParsedQuery.hints``).
docs/search.md is the reference for agents.

Words are compared as ``words()`` splits and folds them: lower case, diacritics removed
from Latin letters (so "Zażółć" is found as "zazołc" too), split at anything that is not
a letter or a digit; Chinese, Japanese, Korean and Thai as overlapping pairs of
characters (``scripts``).  The PostgreSQL index is built with the same function;
SQLite's FTS5 tokenizer (``unicode61 remove_diacritics 2``) does the same on its side,
given those scripts already cut (``scripts.index_text``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.errors import InvalidInput
from helpline.search import scripts

MAX_QUERY_LENGTH = 1000
MAX_TERMS = 32
MIN_PREFIX = 2

# Text terms restricted to one part of the ticket; ``None`` is everywhere.
TEXT_FIELDS = ("title", "from", "to", "attachment")
FILTER_FIELDS = (
    "queue",
    "state",
    "statetype",
    "priority",
    "owner",
    "responsible",
    "watcher",
    "locked",
    "customer",
    "number",
    "created",
    "changed",
    "closed",
    "pending",
    "archived",
)
DATE_FIELDS = ("created", "changed", "closed", "pending")
PRIORITIES = range(1, 6)
_YES = {"yes", "y", "true", "1", "on"}
_NO = {"no", "n", "false", "0", "off"}
_ANY = {"any", "all", "both"}


# --- words ----------------------------------------------------------------------------
def _latin_folding() -> dict[int, str]:
    """Latin letters with diacritics -> without (é -> e, Ż -> Z); others untouched.

    Only Latin, as FTS5's ``remove_diacritics``: in other scripts a mark can make a
    different letter (Japanese ガ is not カ).
    """
    table: dict[int, str] = {}
    for start, end in ((0x00C0, 0x0250), (0x1E00, 0x1F00)):
        for code in range(start, end):
            decomposed = unicodedata.normalize("NFKD", chr(code))
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            if base and base != chr(code) and base.isascii():
                table[code] = base
    return table


_FOLD = _latin_folding()
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case, Latin diacritics removed."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(_FOLD)
    return text.lower()


def words(text: str) -> list[str]:
    """The words of ``text`` as the search compares them (see the module docstring);
    runs of Chinese, Japanese, Korean or Thai as overlapping pairs of characters
    (``scripts``)."""
    folded = fold(text)
    if scripts.has_unspaced(folded):
        return scripts.text_tokens(folded)
    return _WORD.findall(folded)


def query_words(text: str) -> tuple[list[str], bool]:
    """The words of a searched word or phrase, and whether the last is a prefix
    (a lone Chinese, Japanese, Korean or Thai character: ``scripts.query_tokens``)."""
    folded = fold(text)
    if scripts.has_unspaced(folded):
        return scripts.query_tokens(folded)
    return _WORD.findall(folded), False


# --- the parsed query -----------------------------------------------------------------
@dataclass(frozen=True)
class TextTerm:
    """Words that must (or, negated, must not) occur: one word, or a phrase.

    ``tokens`` are the folded words; more than one is a phrase (``"bank transfer"``,
    but also ``jane@example.net`` -> jane example net).  ``prefix`` marks the last
    token as a prefix.  ``field`` restricts the term to one of ``TEXT_FIELDS``.
    """

    tokens: tuple[str, ...]
    prefix: bool = False
    field: str | None = None
    negated: bool = False


@dataclass(frozen=True)
class Filter:
    """A structured condition on the ticket row (compiled by ``search.filters``).

    ``value`` depends on the field: a string (queue, state, owner, customer, number),
    a tuple of priorities, a bool (locked), or a (from, to) pair of aware datetimes,
    from inclusive and to exclusive, either None for open (dates).
    """

    field: str
    value: object
    negated: bool = False


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


@dataclass
class ParsedQuery:
    terms: list[TextTerm] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    # ``archived:`` in the query: True, False, None (any), or UNSET (not given).
    archived: bool | None | _Unset = UNSET
    # For the person who typed the query: how a part of it was understood when
    # that may not be what was meant (``File:x.jpg`` searched as text).
    hints: list[str] = field(default_factory=list)

    @property
    def positive_terms(self) -> list[TextTerm]:
        return [t for t in self.terms if not t.negated]

    @property
    def negative_terms(self) -> list[TextTerm]:
        return [t for t in self.terms if t.negated]

    def archived_or(self, default: bool | None) -> bool | None:
        """The ``archived:`` of the query, or ``default`` when it has none."""
        return default if isinstance(self.archived, _Unset) else self.archived

    @property
    def has_text(self) -> bool:
        """Is there full text to rank by (at least one term that must match)?"""
        return bool(self.positive_terms)

    @property
    def has_phrase(self) -> bool:
        """Has it a term of several words (which must be adjacent)?"""
        return any(len(t.tokens) > 1 for t in self.terms)


# --- scanning -------------------------------------------------------------------------
@dataclass
class _Raw:
    """One term as typed: ``-`` flag, field name (or None), value, quoted or not."""

    text: str
    negated: bool
    name: str | None
    value: str
    quoted: bool
    star: bool


_NAME = re.compile(r"([A-Za-z]+):")


def _scan(query: str) -> list[_Raw]:
    raws: list[_Raw] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        start = i
        negated = query[i] == "-" and i + 1 < n and not query[i + 1].isspace()
        if negated:
            i += 1
        name = None
        match = _NAME.match(query, i)
        if match and (
            match.group(1).lower() in FILTER_FIELDS + TEXT_FIELDS
            or _looks_like_field(query, match.end())
        ):
            name = match.group(1).lower()
            i = match.end()
        if i < n and query[i] == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise InvalidInput(
                    f'A quote is not closed: {query[i:]!r}. Put a " at the end of '
                    "the phrase."
                )
            value, quoted, i = query[i + 1 : end], True, end + 1
            star = i < n and query[i] == "*"
            if star:
                i += 1
            if i < n and not query[i].isspace():
                raise InvalidInput(
                    f"Put a space after the closing quote in {query[start:]!r}."
                )
        else:
            end = i
            while end < n and not query[end].isspace():
                end += 1
            value, quoted, i = query[i:end], False, end
            star = value.endswith("*")
        raws.append(_Raw(query[start:i], negated, name, value, quoted, star))
    return raws


def _looks_like_field(query: str, after: int) -> bool:
    """``name:value`` with an unknown name is a mistyped field, unless it is a URL
    (``https://``) or the colon ends the word (``Re: hello``)."""
    rest = query[after : after + 2]
    return bool(rest) and not rest[0].isspace() and rest != "//"


# --- parsing --------------------------------------------------------------------------
def parse_query(query: str) -> ParsedQuery:
    """Parse the search syntax; ``InvalidInput`` with a clear message when it is wrong."""
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            f"The search is too long ({len(query)} characters; at most "
            f"{MAX_QUERY_LENGTH})."
        )
    parsed = ParsedQuery()
    raws = _scan(query)
    if len(raws) > MAX_TERMS:
        raise InvalidInput(f"Too many search terms ({len(raws)}; at most {MAX_TERMS}).")
    for raw in raws:
        if raw.name is None or raw.name in TEXT_FIELDS:
            term = _text_term(raw)
            if term is not None:
                parsed.terms.append(term)
        elif raw.name == "archived":
            parsed.archived = _archived(raw)
        elif raw.name in FILTER_FIELDS:
            parsed.filters.append(_filter(raw))
        else:
            term = _unknown_field(raw, parsed.hints)
            if term is not None:
                parsed.terms.append(term)
    nothing = not (parsed.terms or parsed.filters) and isinstance(
        parsed.archived, _Unset
    )
    if raws and nothing:
        raise InvalidInput(
            f"Nothing to search for in {query.strip()!r}: give a word, a phrase or a "
            "filter such as queue:NAME."
        )
    return parsed


def _unknown_field(raw: _Raw, hints: list[str]) -> TextTerm | None:
    """``File:Lucia_3.jpg``: a word before a colon that names no field is text, as
    typed, colon included (the way Wikimedia Commons names its files); the hint
    says so, and which field a typo may have meant (``staet:open``)."""
    typed = raw.text[1:] if raw.negated else raw.text
    name = typed[: typed.index(":") + 1]
    close = difflib.get_close_matches(
        raw.name or "", TEXT_FIELDS + FILTER_FIELDS, n=1, cutoff=0.75
    )
    hint = _(
        '"%(name)s" is not a search field, so "%(text)s" was searched as text.'
    ) % {
        "name": name,
        "text": typed,
    }
    if close:
        hint += " " + _("Did you mean %(field)s?") % {"field": close[0] + ":"}
    hints.append(hint)
    return _text_term(replace(raw, name=None, value=typed, quoted=False))


def _text_term(raw: _Raw) -> TextTerm | None:
    value = raw.value[:-1] if raw.star and not raw.quoted else raw.value
    found, open_end = query_words(value)
    tokens = tuple(found)
    if raw.name is not None and not raw.value:
        raise InvalidInput(f"{raw.name}: needs a value, as in {raw.name}:word.")
    if not tokens:
        if raw.name is not None or raw.star:
            raise InvalidInput(f"{raw.text!r} has no letters or digits to search for.")
        return None  # punctuation between words, a lone quote pair
    if raw.star and not open_end and len(tokens[-1]) < MIN_PREFIX:
        raise InvalidInput(
            f"{raw.text!r}: a prefix needs at least {MIN_PREFIX} letters before the *."
        )
    return TextTerm(
        tokens=tokens,
        prefix=raw.star or open_end,
        field=raw.name,
        negated=raw.negated,
    )


def _archived(raw: _Raw) -> bool | None:
    value = raw.value.strip().lower()
    if value in _ANY:
        if raw.negated:
            raise InvalidInput("-archived:any excludes everything; leave it out.")
        return None
    flag = _yes_no(raw)
    return not flag if raw.negated else flag


def _filter(raw: _Raw) -> Filter:
    assert raw.name is not None
    value = raw.value.strip()
    if not value:
        raise InvalidInput(f"{raw.name}: needs a value, as in {_EXAMPLES[raw.name]}.")
    parsed: object
    if raw.name == "priority":
        parsed = _priorities(value)
    elif raw.name == "locked":
        parsed = _yes_no(raw)
    elif raw.name in DATE_FIELDS:
        parsed = _date_range(raw.name, value)
    elif raw.name == "statetype":
        parsed = value.lower()
    else:
        parsed = value
    return Filter(field=raw.name, value=parsed, negated=raw.negated)


_EXAMPLES = {
    "queue": "queue:info-en",
    "state": 'state:open or state:"closed successful"',
    "statetype": "statetype:closed",
    "priority": "priority:4 or priority:>=4",
    "owner": "owner:alice",
    "responsible": "responsible:bob",
    "watcher": "watcher:carol",
    "locked": "locked:yes",
    "customer": "customer:jane@example.net",
    "number": "number:2026010110000123",
    "created": "created:>2026-01-01",
    "changed": "changed:<2026-01-01",
    "closed": "closed:2026-01-01..2026-02-01",
    "pending": "pending:<2026-01-01",
    "archived": "archived:yes",
}


def _yes_no(raw: _Raw) -> bool:
    value = raw.value.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    extra = "|any" if raw.name == "archived" else ""
    raise InvalidInput(f"{raw.name}: takes yes|no{extra}, not {raw.value!r}.")


_COMPARISON = re.compile(r"^(>=|<=|>|<|=)?(.+)$")


def _priorities(value: str) -> tuple[int, ...]:
    def one(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = 0
        if number not in PRIORITIES:
            raise InvalidInput(
                f"priority: takes 1 (very low) to 5 (very high), not {text!r}."
            )
        return number

    if ".." in value:
        low_text, _, high_text = value.partition("..")
        low = one(low_text) if low_text else 1
        high = one(high_text) if high_text else 5
        return tuple(range(low, high + 1))
    match = _COMPARISON.match(value)
    assert match is not None
    op, number = match.group(1) or "=", one(match.group(2))
    chosen = {
        "=": [number],
        ">": range(number + 1, 6),
        ">=": range(number, 6),
        "<": range(1, number),
        "<=": range(1, number + 1),
    }[op]
    return tuple(chosen)


DateRange = tuple[datetime | None, datetime | None]


def _date_range(name: str, value: str) -> DateRange:
    """``>d``, ``>=d``, ``<d``, ``<=d``, ``d``, ``d..d`` (inclusive) -> [from, to)."""
    if ".." in value:
        first, _, last = value.partition("..")
        low = _moment(name, first)[0] if first not in ("", "*") else None
        high = _moment(name, last)[1] if last not in ("", "*") else None
        if low is not None and high is not None and low >= high:
            raise InvalidInput(f"{name}: the range {value!r} ends before it starts.")
        return low, high
    match = _COMPARISON.match(value)
    assert match is not None
    op = match.group(1) or "="
    start, end = _moment(name, match.group(2))
    return {
        "=": (start, end),
        ">": (end, None),
        ">=": (start, None),
        "<": (None, start),
        "<=": (None, end),
    }[op]


def _moment(name: str, text: str) -> tuple[datetime, datetime]:
    """A day (whole day) or a moment (one second), as [start, end) in local time."""
    text = text.strip()
    tz = timezone.get_current_timezone()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        start = datetime.combine(day, time.min, tzinfo=tz)
        return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name}: takes a date like 2026-01-31 or 2026-01-31T14:30, not {text!r}."
        ) from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=tz)
    return moment, moment + timedelta(seconds=1)
