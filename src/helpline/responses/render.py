"""The placeholder language of templates, signatures, salutations and auto-responses.

Deliberately tiny and safe: ``{{ name }}`` or ``{{ name:N }}`` where ``name`` is one of
the registered placeholders below and ``N`` a number (characters for a subject, lines
for a quoted body).  No expressions, no attribute access, no code: a text can only show
what is listed here.  An unknown name is refused when the text is saved
(``check_text``), instead of printing a dash as OTRS does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from helpline.errors import InvalidInput

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*(?::\s*(\d{1,4})\s*)?\}\}")
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

PLACEHOLDERS: dict[str, tuple[str, Getter]] = {
    "ticket.number": (
        "the ticket number",
        lambda c, n: c.ticket.number if c.ticket else "",
    ),
    "ticket.title": (
        "the ticket title",
        lambda c, n: _cut(c.ticket.title, n) if c.ticket else "",
    ),
    "ticket.queue": (
        "the queue name",
        lambda c, n: c.ticket.queue.name if c.ticket else "",
    ),
    "ticket.state": (
        "the state name",
        lambda c, n: c.ticket.state.name if c.ticket else "",
    ),
    "ticket.priority": (
        "the priority (1-5)",
        lambda c, n: str(c.ticket.priority) if c.ticket else "",
    ),
    "ticket.created": (
        "when the ticket was created",
        lambda c, n: (
            timezone.localtime(c.ticket.created).strftime("%Y-%m-%d %H:%M")
            if c.ticket
            else ""
        ),
    ),
    "ticket.owner": (
        "the owner's full name",
        lambda c, n: _full_name(c.ticket.owner) if c.ticket else "",
    ),
    "ticket.responsible": (
        "the responsible agent's full name",
        lambda c, n: _full_name(c.ticket.responsible) if c.ticket else "",
    ),
    "customer.name": (
        "the customer's name (may be empty)",
        lambda c, n: _customer_name(c),
    ),
    "customer.email": (
        "the customer's address",
        lambda c, n: c.customer.email if c.customer else "",
    ),
    "agent.name": ("the writing agent's full name", lambda c, n: _full_name(c.agent)),
    "agent.first_name": (
        "the writing agent's first name",
        lambda c, n: c.agent.first_name if c.agent else "",
    ),
    "agent.last_name": (
        "the writing agent's last name",
        lambda c, n: c.agent.last_name if c.agent else "",
    ),
    "agent.email": (
        "the writing agent's address",
        lambda c, n: c.agent.email if c.agent else "",
    ),
    "original.subject": (
        "the subject of the message answered (:N cuts to N characters)",
        lambda c, n: _cut(c.original.subject, n) if c.original else "",
    ),
    "original.from": (
        "who wrote the message answered",
        lambda c, n: c.original.from_addr if c.original else "",
    ),
    "original.date": (
        "when the message answered arrived",
        lambda c, n: (
            timezone.localtime(c.original.created).strftime("%Y-%m-%d %H:%M")
            if c.original
            else ""
        ),
    ),
    "original.quote": (
        "the message answered, quoted with '> ' (:N keeps the first N lines)",
        lambda c, n: _quote(c.original.body_text, n) if c.original else "",
    ),
    "date.today": ("today's date", lambda c, n: timezone.localdate().isoformat()),
    "date.now": (
        "the current date and time",
        lambda c, n: timezone.localtime().strftime("%Y-%m-%d %H:%M"),
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


def render(text: str, context: Context) -> str:
    """Replace every placeholder; unknown ones (saved before a check) raise."""
    check_text(text)

    def replace(m: re.Match[str]) -> str:
        _, getter = PLACEHOLDERS[m.group(1)]
        n = int(m.group(2)) if m.group(2) else None
        return getter(context, n)

    return PLACEHOLDER.sub(replace, text)
