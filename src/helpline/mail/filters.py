"""Admin-defined PostMaster filters and trusted X-Helpline-* control headers.

A filter is data: a list of matches (header, regular expression, optionally negated),
all of which must hold, and a dict of what to set.  ``[***]`` in a value stands for the
first group the last regular expression captured.  Filters run in order; one marked
"stop" ends the run when it matched.  What fired is recorded on the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from helpline.addresses import normalize
from helpline.errors import InvalidInput
from helpline.mail.parse import ParsedMessage
from helpline.models import PostmasterFilter

# What a filter (or a trusted header) may set.
SETTABLE = {
    "queue": str,
    "priority": int,
    "state": str,
    "title": str,
    "customer": str,
    "ignore": bool,
    "no_auto_response": bool,
}

CONTROL_HEADERS = {
    "X-Helpline-Queue": "queue",
    "X-Helpline-Priority": "priority",
    "X-Helpline-State": "state",
    "X-Helpline-Title": "title",
    "X-Helpline-Customer": "customer",
    "X-Helpline-Ignore": "ignore",
    "X-Helpline-No-Auto-Response": "no_auto_response",
}


@dataclass
class Outcome:
    """What the filters decided, and which fired (for the message's record)."""

    sets: dict[str, Any] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)


def _coerce(key: str, value: Any) -> Any:
    kind = SETTABLE[key]
    if kind is bool:
        return (
            value
            if isinstance(value, bool)
            else str(value).strip().lower()
            in {
                "1",
                "yes",
                "true",
                "on",
            }
        )
    if kind is int:
        return int(value)
    return str(value)


def validate_filter(matches: Any, sets: Any) -> None:
    """Refuse a filter that could never work: called when an admin saves one."""
    if not isinstance(matches, list) or not matches:
        raise InvalidInput("A filter needs at least one match.")
    for m in matches:
        if not isinstance(m, dict) or not m.get("header") or "regex" not in m:
            raise InvalidInput("Each match needs a header and a regex.")
        try:
            re.compile(m["regex"])
        except re.error as exc:
            raise InvalidInput(f"Bad regular expression {m['regex']!r}: {exc}") from exc
    if not isinstance(sets, dict) or not sets:
        raise InvalidInput("A filter needs something to set.")
    for key, value in sets.items():
        if key not in SETTABLE:
            raise InvalidInput(f"A filter cannot set {key!r}; use {sorted(SETTABLE)}.")
        try:
            _coerce(key, value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{key}: {value!r} is not valid.") from exc


def _match(parsed: ParsedMessage, matches: list[dict[str, Any]]) -> tuple[bool, str]:
    capture = ""
    for m in matches:
        header: str = m["header"]
        if header.upper().startswith("EMAILADDRESS:"):
            wanted = normalize(header.split(":", 1)[1])
            values = {
                normalize(a.email)
                for a in [*parsed.from_all, *parsed.to, *parsed.cc]
                if a is not None
            }
            hit = bool(wanted) and wanted in values
        else:
            regex = re.compile(m["regex"], re.IGNORECASE)
            hit = False
            for value in parsed.header_all(header) or [""]:
                found = regex.search(value)
                if found:
                    hit = True
                    if found.groups():
                        capture = found.group(1) or ""
                    break
        if hit == bool(m.get("negate")):
            return False, ""
    return True, capture


def apply_filters(
    parsed: ParsedMessage,
    *,
    trust_headers: bool,
    filters: Iterable[PostmasterFilter] | None = None,
) -> Outcome:
    """Run the trusted control headers, then ``filters`` (default: the valid filters
    from the database, in order)."""
    if filters is None:
        filters = PostmasterFilter.objects.filter(valid=True).order_by("order", "name")
    outcome = Outcome()
    if trust_headers:
        for header, key in CONTROL_HEADERS.items():
            value = parsed.header(header)
            if value:
                try:
                    outcome.sets[key] = _coerce(key, value.strip())
                    outcome.fired.append(f"header {header}")
                except ValueError:
                    outcome.fired.append(f"header {header} ignored (bad value)")
    for flt in filters:
        matched, capture = _match(parsed, flt.matches)
        if not matched:
            continue
        outcome.fired.append(f"filter {flt.name}")
        for key, value in flt.sets.items():
            if key in SETTABLE:
                if isinstance(value, str):
                    value = value.replace("[***]", capture)
                outcome.sets[key] = _coerce(key, value)
        if flt.stop:
            break
    return outcome
