"""The placeholder language of templates, signatures, salutations and auto-responses.

Deliberately tiny and safe: ``{{ name }}`` or ``{{ name:N }}`` where ``name`` is one of
the registered placeholders below and ``N`` a number (characters for a subject, lines
for a quoted body), optionally with a fallback: ``{{ name|default:"text" }}`` (literal
text; a backslash escapes a quote or a backslash).  No expressions, no attribute
access, no code: a text can only show what is listed here.  An unknown name is refused
when the text is saved (``check_text``), instead of printing a dash as OTRS does.

A placeholder with no value and no fallback is removed together with the punctuation
that only stood around it (``_close_gap``; docs/web.md "Placeholders"): "Hello
{{ customer.name }}," becomes "Hello,", "Ticket 1 ({{ customer.name }})" becomes
"Ticket 1", and a line left without a letter or digit goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from helpline.errors import InvalidInput
from helpline.local_format import site_time

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise
else:
    StrOrPromise = Any

PLACEHOLDER = re.compile(
    r"\{\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*(?::\s*(\d{1,4})\s*)?"
    r'(?:\|\s*default\s*:\s*"((?:[^"\\\n]|\\["\\])*)"\s*)?\}\}'
)
# Anything that looks like a placeholder but is not well-formed.
SUSPICIOUS = re.compile(r"\{\{.*?\}\}", re.S)


@dataclass
class Context:
    """What a text is rendered about; every field is optional."""

    ticket: Any = None
    agent: Any = None  # the agent writing
    customer: Any = None
    original: Any = None  # the customer's article being answered


def _full_name(user: Any) -> str:
    if user is None:
        return ""
    name = f"{user.first_name} {user.last_name}".strip()
    return name or user.get_username()


def _quote(text: str, lines: int | None) -> str:
    body = text.strip("\n").split("\n")
    if lines:
        body = body[:lines]
    return "\n".join(f"> {line}" if line else ">" for line in body)


def _cut(text: str, n: int | None) -> str:
    if n and len(text) > n:
        return text[:n].rstrip() + "..."
    return text


def _customer_name(c: Context) -> str:
    if c.customer is not None and c.customer.name:
        return str(c.customer.name)
    return ""


Getter = Callable[[Context, int | None], str]

# The descriptions are shown on the administration pages, in the reader's language.
PLACEHOLDERS: dict[str, tuple[StrOrPromise, Getter]] = {
    "ticket.number": (
        _("the ticket number"),
        lambda c, n: c.ticket.number if c.ticket else "",
    ),
    "ticket.title": (
        _("the ticket title"),
        lambda c, n: _cut(c.ticket.title, n) if c.ticket else "",
    ),
    "ticket.queue": (
        _("the queue name"),
        lambda c, n: c.ticket.queue.name if c.ticket else "",
    ),
    "ticket.state": (
        _("the state name"),
        lambda c, n: c.ticket.state.name if c.ticket else "",
    ),
    "ticket.priority": (
        _("the priority (1-5)"),
        lambda c, n: str(c.ticket.priority) if c.ticket else "",
    ),
    "ticket.created": (
        _("when the ticket was created"),
        lambda c, n: (
            site_time(c.ticket.created).strftime("%Y-%m-%d %H:%M") if c.ticket else ""
        ),
    ),
    "ticket.owner": (
        _("the owner's full name"),
        lambda c, n: _full_name(c.ticket.owner) if c.ticket else "",
    ),
    "ticket.responsible": (
        _("the responsible agent's full name"),
        lambda c, n: _full_name(c.ticket.responsible) if c.ticket else "",
    ),
    "customer.name": (
        _("the customer's name (may be empty)"),
        lambda c, n: _customer_name(c),
    ),
    "customer.email": (
        _("the customer's address"),
        lambda c, n: c.customer.email if c.customer else "",
    ),
    "agent.name": (
        _("the writing agent's full name"),
        lambda c, n: _full_name(c.agent),
    ),
    "agent.first_name": (
        _("the writing agent's first name"),
        lambda c, n: c.agent.first_name if c.agent else "",
    ),
    "agent.last_name": (
        _("the writing agent's last name"),
        lambda c, n: c.agent.last_name if c.agent else "",
    ),
    "agent.email": (
        _("the writing agent's address"),
        lambda c, n: c.agent.email if c.agent else "",
    ),
    "original.subject": (
        _("the subject of the message answered (:N cuts to N characters)"),
        lambda c, n: _cut(c.original.subject, n) if c.original else "",
    ),
    "original.from": (
        _("who wrote the message answered"),
        lambda c, n: c.original.from_addr if c.original else "",
    ),
    "original.date": (
        _("when the message answered arrived"),
        lambda c, n: (
            site_time(c.original.created).strftime("%Y-%m-%d %H:%M")
            if c.original
            else ""
        ),
    ),
    "original.quote": (
        _("the message answered, quoted with '> ' (:N keeps the first N lines)"),
        lambda c, n: _quote(c.original.body_text, n) if c.original else "",
    ),
    "date.today": (_("today's date"), lambda c, n: site_time().date().isoformat()),
    "date.now": (
        _("the current date and time"),
        lambda c, n: site_time().strftime("%Y-%m-%d %H:%M"),
    ),
}


def check_text(text: str) -> None:
    """Refuse a text with an unknown or malformed placeholder (call when saving)."""
    known = {m.group(0) for m in PLACEHOLDER.finditer(text)}
    for m in PLACEHOLDER.finditer(text):
        if m.group(1) not in PLACEHOLDERS:
            raise InvalidInput(
                f"Unknown placeholder {{{{ {m.group(1)} }}}}; known ones: "
                + ", ".join(sorted(PLACEHOLDERS))
            )
    for m in SUSPICIOUS.finditer(text):
        if m.group(0) not in known:
            raise InvalidInput(f"Malformed placeholder {m.group(0)!r}.")


def _fallback(raw: str | None) -> str:
    return re.sub(r"\\([\"\\])", r"\1", raw) if raw else ""


# The punctuation of the rule for empty placeholders (docs/web.md "Placeholders").
_PAIRS = {
    "(": ")",
    "[": "]",
    "{": "}",
    "<": ">",
    '"': '"',
    "'": "'",
    "“": "”",
    "„": "“",
    "‘": "’",
    "«": "»",
    "»": "«",
    "‹": "›",
    "「": "」",
}
_SEPARATORS = ",;:"
_CLOSING = ",.;:!?)]}>…"
_SPACE = " \t"
_ENDS = "\r\n"


def _skip_space(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in _SPACE:
        pos += 1
    return pos


def _close_gap(out: str, line: str, pos: int) -> tuple[str, int]:
    """Join the text before an empty placeholder (``out``, this line so far) with the
    rest of the ``line`` after it (from ``pos``): drop the spaces around the gap, a pair
    of brackets or quotes left empty, and a separator left dangling; return the new
    ``out`` and where the rest of the line now starts."""

    def at_start() -> bool:
        return out.strip(_SPACE) == ""

    if not at_start():
        out = out.rstrip(_SPACE)
    pos = _skip_space(line, pos)
    while True:
        nxt = line[pos] if pos < len(line) else ""
        last = "" if at_start() else out[-1:]
        if last and last in _PAIRS and nxt == _PAIRS[last]:
            # "({{ x }})": the brackets go with it.
            out = out[:-1]
            if not at_start():
                out = out.rstrip(_SPACE)
            pos = _skip_space(line, pos + 1)
            continue
        if not last and nxt and nxt in _SEPARATORS:
            # "{{ x }}, welcome": the line starts with "welcome".
            pos = _skip_space(line, pos + 1)
            continue
        if last and last in _SEPARATORS and (nxt == "" or nxt in _ENDS + _CLOSING):
            # "Thanks, {{ x }}." is "Thanks."; "Regards, {{ x }}" is "Regards".
            out = out[:-1].rstrip(_SPACE)
            continue
        break
    joined = at_start() or nxt == "" or nxt in _ENDS + _CLOSING or out[-1:] in _PAIRS
    return out + ("" if joined else " "), pos


def render(text: str, context: Context) -> str:
    """Replace every placeholder; unknown ones (saved before a check) raise.

    A placeholder without a value shows its ``|default:"..."`` text; without one it is
    removed with the punctuation around it (``_close_gap``), and a line it leaves with
    no letter or digit is removed with its line break.
    """
    check_text(text)
    done: list[str] = []
    for line in text.splitlines(keepends=True):
        out = ""
        pos = 0
        emptied = False
        for m in PLACEHOLDER.finditer(line):
            if m.start() < pos:
                continue
            out += line[pos : m.start()]
            _help, getter = PLACEHOLDERS[m.group(1)]
            n = int(m.group(2)) if m.group(2) else None
            value = getter(context, n) or _fallback(m.group(3))
            if value.strip():
                out += value
                pos = m.end()
            else:
                emptied = True
                out, pos = _close_gap(out, line, m.end())
        out += line[pos:]
        if emptied and not any(ch.isalnum() for ch in out):
            continue  # the line held nothing but what was empty
        done.append(out)
    return "".join(done)
