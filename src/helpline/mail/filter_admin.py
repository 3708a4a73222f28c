"""Postmaster filters as a form (docs/administration.md, "Postmaster filters"): rows of
conditions and one field per thing a filter sets, read from and written back to the
filter's ``matches`` and ``sets`` (the data ``mail.filters`` runs).

Lossless: a filter read into the form and saved unchanged is stored exactly as it was,
whatever JSON it was written as — a condition row keeps the keys of the match it was
read from (the engine ignores unknown ones), and a value the form shows the same way
as the stored one (``"yes"`` for ``true``, ``"3"`` for ``3``) keeps the stored one.
Saving goes through ``actions.admin.save_configuration``, so every change is in the
administration log; only site administrators may (``actions.mail_admin``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline.actions import admin
from helpline.actions.mail_admin import require_site_admin
from helpline.errors import Conflict, InvalidInput, NotFound
from helpline.mail.filters import SETTABLE, _coerce, validate_filter
from helpline.models import PostmasterFilter, Queue, TicketState

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

ADDRESS_PREFIX = "EMAILADDRESS:"
# How a condition compares: (value, label, negated).
KINDS = (
    ("contains", gettext_lazy("contains"), False),
    ("not_contains", gettext_lazy("does not contain"), True),
    ("regex", gettext_lazy("matches the regular expression"), False),
    ("not_regex", gettext_lazy("does not match the regular expression"), True),
    ("address", gettext_lazy("address is among From, To and Cc"), False),
    ("not_address", gettext_lazy("address is not among From, To and Cc"), True),
)
NEGATED = {kind for kind, _label, negated in KINDS if negated}
# Characters that make a text a regular expression rather than plain words.
SPECIAL = set(".^$*+?{}[]\\|()")
BOOLEANS = ("ignore", "no_auto_response")
# What each settable thing is called on the form (mail.filters.SETTABLE).
LABELS = {
    "queue": gettext_lazy("Queue"),
    "state": gettext_lazy("State"),
    "priority": gettext_lazy("Priority"),
    "title": gettext_lazy("Title"),
    "customer": gettext_lazy("Customer"),
    "ignore": gettext_lazy("Ignore the message (store no ticket)"),
    "no_auto_response": gettext_lazy("Send no auto-response"),
}
TEXTS = ("queue", "state", "title", "customer")
CAPTURE = "[***]"


@dataclass
class Condition:
    """One row of the form; ``index`` is its place in the stored ``matches``
    (None for a row added in the form)."""

    header: str = ""
    kind: str = "contains"
    value: str = ""
    index: int | None = None
    remove: bool = False

    @property
    def label(self) -> str:
        return next((str(label) for kind, label, _n in KINDS if kind == self.kind), "")

    @property
    def blank(self) -> bool:
        return not self.value and (self.kind.endswith("address") or not self.header)


def condition_of(match: dict[str, Any], index: int) -> Condition:
    header = str(match.get("header", ""))
    negate = bool(match.get("negate"))
    if header.upper().startswith(ADDRESS_PREFIX):
        kind = "not_address" if negate else "address"
        return Condition("", kind, header[len(ADDRESS_PREFIX) :], index)
    regex = str(match.get("regex", ""))
    plain = not SPECIAL & set(regex)
    kind = ("not_" if negate else "") + ("contains" if plain else "regex")
    return Condition(header, kind, regex, index)


def conditions_of(flt: PostmasterFilter | None) -> list[Condition]:
    matches = flt.matches if flt is not None and isinstance(flt.matches, list) else []
    return [
        condition_of(m if isinstance(m, dict) else {}, i) for i, m in enumerate(matches)
    ]


def _text(key: str, value: Any) -> str:
    """A stored value as the form shows it."""
    if key in BOOLEANS:
        return "yes" if _coerce(key, value) else "no"
    return str(value)


def texts_of(flt: PostmasterFilter | None) -> dict[str, str]:
    """The form's text for each thing a filter may set ('' = not set)."""
    sets = flt.sets if flt is not None and isinstance(flt.sets, dict) else {}
    return {key: _text(key, sets[key]) if key in sets else "" for key in SETTABLE}


def _match_of(row: Condition, number: int, original: dict[str, Any]) -> dict[str, Any]:
    negate = row.kind in NEGATED
    result = dict(original)
    if row.kind.endswith("address"):
        if "@" not in row.value:
            raise InvalidInput(
                _("Condition %(n)d: %(value)s is not an email address.")
                % {"n": number, "value": row.value}
            )
        header = str(original.get("header", ""))
        if header[len(ADDRESS_PREFIX) :] != row.value.strip() or not (
            header.upper().startswith(ADDRESS_PREFIX)
        ):
            result["header"] = ADDRESS_PREFIX + row.value.strip()
        result.setdefault("regex", "")
    else:
        if not row.header.strip():
            raise InvalidInput(_("Condition %(n)d needs a header.") % {"n": number})
        regex = row.value
        if row.kind.endswith("contains") and SPECIAL & set(regex):
            regex = re.escape(regex)
        try:
            re.compile(regex)
        except re.error as exc:
            raise InvalidInput(
                _(
                    "Condition %(n)d: %(pattern)s is not a valid regular expression "
                    "(%(reason)s)."
                )
                % {"n": number, "pattern": row.value, "reason": exc}
            ) from exc
        if (
            original.get("regex") != regex
            or str(original.get("header", "")).upper().startswith(ADDRESS_PREFIX)
            or original.get("header") != row.header.strip()
        ):
            result["header"], result["regex"] = row.header.strip(), regex
    if bool(original.get("negate")) != negate:
        result["negate"] = negate
    return result


def build_matches(
    rows: list[Condition], original: list[Any] | None = None
) -> list[dict[str, Any]]:
    """The ``matches`` of the form's rows (blank and removed rows left out)."""
    original = original or []
    matches: list[dict[str, Any]] = []
    for number, row in enumerate(
        (r for r in rows if not r.remove and not r.blank), start=1
    ):
        before = (
            original[row.index]
            if row.index is not None
            and row.index < len(original)
            and isinstance(original[row.index], dict)
            else {}
        )
        matches.append(_match_of(row, number, before))
    if not matches:
        raise InvalidInput(_("A filter needs at least one condition."))
    return matches


def _check_name(model: Any, value: str, key: str) -> None:
    if CAPTURE in value:  # filled in from the message: known only then
        return
    if model.objects.filter(name=value, valid=True).exists():
        return
    if key == "queue":
        raise InvalidInput(
            _("There is no valid queue named %(name)s.") % {"name": value}
        )
    raise InvalidInput(_("There is no valid state named %(name)s.") % {"name": value})


def build_sets(
    texts: dict[str, str], original: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``sets`` of the form's fields; an unchanged field keeps the stored value."""
    original = original or {}
    sets: dict[str, Any] = {}
    for key in SETTABLE:
        text = texts.get(key, "").strip()
        if key in original and _text(key, original[key]) == text:
            sets[key] = original[key]
            continue
        if not text:
            continue
        if key in BOOLEANS:
            sets[key] = text == "yes"
        elif key == "priority":
            if text not in {"1", "2", "3", "4", "5"}:
                raise InvalidInput(_("Priority must be 1 to 5."))
            sets[key] = int(text)
        else:
            if key == "queue":
                _check_name(Queue, text, key)
            elif key == "state":
                _check_name(TicketState, text, key)
            sets[key] = text
    if not sets:
        raise InvalidInput(_("A filter needs something to set."))
    return sets


@dataclass
class FilterForm:
    """What the filter page posts, read by the view."""

    name: str
    order: int
    rows: list[Condition]
    texts: dict[str, str]
    stop: bool = False
    valid: bool = True
    comment: str = ""


def get_filter(actor: Agent | None, filter_id: int) -> PostmasterFilter:
    require_site_admin(actor, "postmasterfilter")
    found = PostmasterFilter.objects.filter(pk=filter_id).first()
    if found is None:
        raise NotFound(_("No such filter."))
    return found


def list_filters(actor: Agent | None) -> list[PostmasterFilter]:
    require_site_admin(actor, "postmasterfilter")
    return list(PostmasterFilter.objects.order_by("order", "name"))


def save_filter(
    actor: Agent | None, flt: PostmasterFilter | None, form: FilterForm
) -> PostmasterFilter:
    """Create (``flt`` None) or change a filter from the form; a bad condition or value
    is ``InvalidInput`` naming it, and nothing is saved."""
    require_site_admin(actor, "postmasterfilter")
    name = form.name.strip()
    if not name:
        raise InvalidInput(_("A filter needs a name."))
    others = PostmasterFilter.objects.filter(name=name)
    if flt is not None:
        others = others.exclude(pk=flt.pk)
    if others.exists():
        raise Conflict(_("A filter %(name)s exists already.") % {"name": name})
    target = flt or PostmasterFilter()
    matches = build_matches(form.rows, target.matches if flt else None)
    sets = build_sets(form.texts, target.sets if flt else None)
    validate_filter(matches, sets)  # the engine's own rule, last
    target.name, target.order = name, form.order
    target.matches, target.sets = matches, sets
    target.stop, target.valid, target.comment = form.stop, form.valid, form.comment
    with transaction.atomic():
        return admin.save_configuration(
            actor,
            target,
            changed=["name", "order", "matches", "sets", "stop", "valid", "comment"],
        )
