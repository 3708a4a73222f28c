"""Searching and exporting the read audit (who read which ticket, article, file).

Only holders of the ``audit_reads`` right (``privacy_rights``; being a superuser is
not enough) search it, through the web page, the REST API or ``helpline audit reads
--as LOGIN``; the operator at the server's console may search it too (``helpline
audit reads`` without ``--as``: whoever has the console can read the database
anyway), named by the system account.  Every search and every export is written to
the administration log with the filters it used (a customer as ids, never the
address: the log must not keep what an erasure removes).

Pages are keyset pages on ``(at, id)``, newest first, with no count: the audit holds
millions of rows, and a page deep in it costs what the first one does.  A cursor is
bound to the filters it was made for.  Exports walk the same order in batches, so
their memory does not grow with the audit.  docs/data-protection.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from helpline.actions import admin, privacy_rights
from helpline.addresses import normalize
from helpline.errors import InvalidInput, PermissionDenied
from helpline.models import Customer, ReadChannel, ReadEvent, ReadKind, Ticket
from helpline.models.keyset import after_key

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

MAX_PAGE = 500
# Years a period may name (beyond them a moment does not survive the time zones).
YEARS = range(1970, 9999)
# Rows an export reads per statement.
EXPORT_BATCH = 2000
SEARCHED = "searched the read audit"
EXPORTED = "exported the read audit"


class InvalidCursor(InvalidInput):
    """A cursor damaged, invented or made for other filters."""

    code = "invalid_cursor"


@dataclass(frozen=True)
class ReadFilters:
    """What to look for; every field optional.  ``until`` is exclusive."""

    agent: str = ""  # login
    ticket: str = ""  # number
    customer: str = ""  # email address
    since: datetime | None = None
    until: datetime | None = None
    kind: str = ""
    channel: str = ""


@dataclass
class ReadPage:
    events: list[ReadEvent]
    next_cursor: str | None


def check_filters(
    *,
    agent: str | None = None,
    ticket: str | None = None,
    customer: str | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    kind: str | None = None,
    channel: str | None = None,
) -> ReadFilters:
    """Filters from what a person typed: a day (``2026-03-01``: from its start, or to
    its end for ``until``) or a moment (ISO 8601) for the period; a clear
    ``InvalidInput`` for a kind, a channel or a date that is none."""
    kind, channel = (kind or "").strip(), (channel or "").strip()
    if kind and kind not in ReadKind.values:
        raise InvalidInput(
            f"Unknown kind {kind!r}; one of {', '.join(ReadKind.values)}."
        )
    if channel and channel not in ReadChannel.values:
        raise InvalidInput(
            f"Unknown channel {channel!r}; one of {', '.join(ReadChannel.values)}."
        )
    start = _moment(since, "since", end=False)
    end = _moment(until, "until", end=True)
    if start is not None and end is not None and start >= end:
        raise InvalidInput("The period ends before it begins.")
    return ReadFilters(
        agent=(agent or "").strip(),
        ticket=(ticket or "").strip(),
        customer=(customer or "").strip(),
        since=start,
        until=end,
        kind=kind,
        channel=channel,
    )


def _moment(value: str | date | None, name: str, *, end: bool) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = _day(value, end=end)
    else:
        text = value.strip()
        try:
            if len(text) == 10:  # a day
                moment = _day(date.fromisoformat(text), end=end)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"{name}: {text!r} is not a date (2026-03-01) or a time "
                "(2026-03-01T14:30)."
            ) from None
    if moment.year not in YEARS:
        raise InvalidInput(f"{name}: a year from {YEARS[0]} to {YEARS[-1]}.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _day(day: date, *, end: bool) -> datetime:
    """The start of ``day``, or for the end of a period the start of the next."""
    if end and day.year in YEARS:
        day += timedelta(days=1)
    return datetime.combine(day, time())


def describe(filters: ReadFilters) -> dict[str, Any]:
    """The filters as the administration log keeps them: the customer as ids."""
    shown: dict[str, Any] = {}
    for key, value in asdict(filters).items():
        if key == "customer":
            continue
        if isinstance(value, datetime):
            shown[key] = value.isoformat()
        elif value:
            shown[key] = value
    if filters.customer:
        shown["customer_ids"] = _customer_ids(filters.customer)
    return shown


def _customer_ids(email: str) -> list[int]:
    """The customers with this address (canonical form, or as stored before
    addresses were canonical)."""
    forms = {email.strip().lower(), normalize(email)} - {""}
    return sorted(Customer.objects.filter(email__in=forms).values_list("pk", flat=True))


def _matching(filters: ReadFilters) -> QuerySet[ReadEvent]:
    rows = ReadEvent.objects.all()
    if filters.agent:
        user = get_user_model().objects.filter(username=filters.agent).first()
        # An account that is gone is still named by its login.
        rows = (
            rows.filter(agent_id=user.pk)
            if user is not None
            else rows.filter(agent_name=filters.agent)
        )
    if filters.ticket:
        ticket_id = (
            Ticket.objects.filter(number=filters.ticket)
            .values_list("pk", flat=True)
            .first()
        )
        # A deleted ticket is still named by its number.
        rows = (
            rows.filter(ticket_id=ticket_id)
            if ticket_id is not None
            else rows.filter(ticket_number=filters.ticket)
        )
    if filters.customer:
        rows = rows.filter(customer_id__in=_customer_ids(filters.customer))
    if filters.since is not None:
        rows = rows.filter(at__gte=filters.since)
    if filters.until is not None:
        rows = rows.filter(at__lt=filters.until)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    return rows


def _before(rows: QuerySet[ReadEvent], at: datetime, pk: int) -> QuerySet[ReadEvent]:
    # As an index range of (at, id) from where the last page ended (models.keyset).
    return rows.filter(after_key("at", at, pk, descending=True))


def _newest_first(rows: QuerySet[ReadEvent]) -> QuerySet[ReadEvent]:
    return rows.order_by("-at", "-id")


# --- cursors --------------------------------------------------------------------------
def _digest(filters: ReadFilters) -> str:
    text = json.dumps(asdict(filters), default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cursor(event: ReadEvent, filters: ReadFilters) -> str:
    payload = {"v": event.at.isoformat(), "i": event.pk, "f": _digest(filters)}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str, filters: ReadFilters) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        at = datetime.fromisoformat(payload["v"])
        pk = payload["i"]
        digest = payload["f"]
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise InvalidCursor("The cursor is damaged; start again without it.") from None
    if digest != _digest(filters) or not isinstance(pk, int) or at.tzinfo is None:
        raise InvalidCursor(
            "This cursor belongs to another search; start again without it."
        )
    return at, pk


# --- who may ------------------------------------------------------------------------
def _authorise(actor: Agent | None, operator: str) -> None:
    """A holder of ``audit_reads``, or the operator at the console (``operator``: the
    system account's name, given only by the command line)."""
    if actor is None:
        if not operator:
            raise PermissionDenied("Searching the read audit needs an agent.")
        return
    privacy_rights.require(actor, privacy_rights.AUDIT_READS)


def _log(actor: Agent | None, action: str, filters: ReadFilters, operator: str) -> None:
    shown = describe(filters)
    summary = ", ".join(f"{k}={v}" for k, v in shown.items()) or "everything"
    who = f"operator {operator}: " if actor is None else ""
    admin.record(
        actor,
        action,
        object_type="read audit",
        object_repr=f"{who}{summary}",
        after=shown,
    )


# --- the actions --------------------------------------------------------------------
def search_reads(
    actor: Agent | None,
    filters: ReadFilters,
    *,
    cursor: str | None = None,
    limit: int = 100,
    operator: str = "",
) -> ReadPage:
    """One page of the events matching ``filters``, newest first, and the cursor of
    the next page (None at the end).  The first page is written to the
    administration log; the next pages are the same search (their cursor is bound
    to its filters)."""
    _authorise(actor, operator)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE} events.")
    rows = _matching(filters)
    if cursor:
        rows = _before(rows, *_position(cursor, filters))
    else:
        _log(actor, SEARCHED, filters, operator)
    found = list(_newest_first(rows)[: limit + 1])
    if len(found) <= limit:
        return ReadPage(found, None)
    return ReadPage(found[:limit], _cursor(found[limit - 1], filters))


def export_reads(
    actor: Agent | None,
    filters: ReadFilters,
    *,
    limit: int | None = None,
    operator: str = "",
    batch: int = EXPORT_BATCH,
) -> Iterator[ReadEvent]:
    """Every event matching ``filters`` (at most ``limit``), newest first, read in
    batches of ``batch`` rows.  Checked and logged now; the rows are read as the
    caller consumes them."""
    _authorise(actor, operator)
    _log(actor, EXPORTED, filters, operator)
    return _walk(_matching(filters), limit=limit, batch=batch)


def _walk(
    rows: QuerySet[ReadEvent], *, limit: int | None, batch: int
) -> Iterator[ReadEvent]:
    left = limit
    after: tuple[datetime, int] | None = None
    while left is None or left > 0:
        size = batch if left is None else min(batch, left)
        page = rows if after is None else _before(rows, *after)
        found = list(_newest_first(page)[:size])
        yield from found
        if len(found) < size:
            return
        if left is not None:
            left -= len(found)
        after = (found[-1].at, found[-1].pk)


def event_row(event: ReadEvent) -> dict[str, Any]:
    """An event as every entry point shows it (the CSV columns, the JSON fields)."""
    return {
        "id": event.pk,
        "at": event.at,
        "agent": event.agent_name,
        "agent_id": event.agent_id,
        "ticket": event.ticket_number,
        "ticket_id": event.ticket_id,
        "customer_id": event.customer_id,
        "kind": event.kind,
        "article_id": event.article_id,
        "attachment_id": event.attachment_id,
        "channel": event.channel,
        "client": event.client,
        "request_id": event.request_id,
    }


COLUMNS = (
    "id",
    "at",
    "agent",
    "agent_id",
    "ticket",
    "ticket_id",
    "customer_id",
    "kind",
    "article_id",
    "attachment_id",
    "channel",
    "client",
    "request_id",
)
