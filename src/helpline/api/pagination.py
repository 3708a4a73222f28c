"""Cursor pagination: opaque cursors over a stable (field, id) order.

A cursor records where the previous page ended (keyset pagination), so pages neither
repeat nor skip rows when tickets are added meanwhile, and a deep page costs the same as
the first.  For a full-text search the cursor records the offset instead.  Cursors are
base64url JSON; clients must treat them as opaque.  Each names the listing it belongs
to, so that a cursor from one listing is refused by another.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from helpline.api.errors import ApiError
from helpline.models.keyset import after_key

M = TypeVar("M", bound=Model)

MAX_LIMIT = 100


@dataclass(frozen=True)
class Order:
    """Rows by ``field`` (a datetime or the id), ties broken by id, same direction."""

    field: str
    descending: bool

    @property
    def name(self) -> str:
        return f"{'-' if self.descending else ''}{self.field}"


def encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, scope: str) -> dict[str, Any]:
    """The payload of a cursor made for ``scope``; 422 ``invalid_cursor`` otherwise.

    422, not 400: a cursor has the syntax the document gives it, only the server can
    tell it was not made for this listing (or was altered).
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        payload = None
    if not isinstance(payload, dict) or payload.get("s") != scope:
        raise ApiError(
            422,
            "invalid_cursor",
            "This cursor does not belong to this listing; start again without one.",
        )
    return payload


def _invalid() -> ApiError:
    return ApiError(422, "invalid_cursor", "The cursor is damaged.")


def keyset_page(
    rows: QuerySet[M], order: Order, *, cursor: str | None, limit: int, scope: str
) -> tuple[list[M], str | None]:
    """One page of ``rows`` in ``order`` after ``cursor``, and the next cursor."""
    sign = "-" if order.descending else ""
    after = "lt" if order.descending else "gt"
    if cursor:
        payload = decode(cursor, scope)
        last_id = payload.get("i")
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise _invalid()
        if order.field == "id":
            rows = rows.filter(**{f"id__{after}": last_id})
        else:
            try:
                value = datetime.fromisoformat(str(payload.get("v")))
            except ValueError:
                raise _invalid() from None
            if value.tzinfo is None:
                raise _invalid()
            # An index range of (field, id) from the last row on (models.keyset).
            rows = rows.filter(
                after_key(order.field, value, last_id, descending=order.descending)
            )
    keys = (
        [f"{sign}id"] if order.field == "id" else [f"{sign}{order.field}", f"{sign}id"]
    )
    found = list(rows.order_by(*keys)[: limit + 1])
    if len(found) <= limit:
        return found, None
    page = found[:limit]
    last = page[-1]
    payload = {"s": scope, "i": last.pk}
    if order.field != "id":
        payload["v"] = getattr(last, order.field).isoformat()
    return page, encode(payload)


def offset_of(cursor: str | None, scope: str) -> int:
    """The offset an offset cursor (full-text search) carries; 0 without one."""
    if not cursor:
        return 0
    offset = decode(cursor, scope).get("o")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _invalid()
    return offset


def offset_cursor(offset: int, scope: str) -> str:
    return encode({"s": scope, "o": offset})
