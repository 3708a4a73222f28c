"""Optimistic concurrency: a ticket's ``version`` is its ETag, checked by If-Match.

Every answer that shows a ticket carries ``ETag: "<version>"``.  Every write to a ticket
accepts ``If-Match``: the write happens only if the ticket still has that version,
checked under the ticket's row lock in the write's own transaction, so two clients that
read the same version cannot both write.  If-Match is optional (docs/api.md says why).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from ninja import Header

from helpline.actions.access import access_ticket
from helpline.api.errors import ApiError
from helpline.models import Ticket

IF_MATCH_HELP = (
    'Write only if the ticket\'s ETag is still this one ("<version>", as served in '
    "the ETag header); 412 otherwise."
)


def if_match_header() -> Any:
    """The optional If-Match request header, documented."""
    return Header(None, alias="If-Match", description=IF_MATCH_HELP)


def etag_of(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


def set_etag(response: HttpResponse, ticket: Ticket) -> None:
    response["ETag"] = etag_of(ticket)


def check_if_match(ticket: Ticket, if_match: str | None) -> None:
    """Refuse with 412 when ``if_match`` names another version of ``ticket``.

    Strong comparison (RFC 9110): a weak tag ``W/"3"`` never matches; ``*`` always does.
    """
    if if_match is None:
        return
    wanted = [tag.strip() for tag in if_match.split(",")]
    if "*" in wanted or etag_of(ticket) in wanted:
        return
    raise ApiError(
        412,
        "precondition_failed",
        f"Ticket {ticket.number} has changed since you read it (now version "
        f"{ticket.version}); read it again and redo your change.",
        headers={"ETag": etag_of(ticket)},
    )


@contextmanager
def writing(agent: Any, number: str, if_match: str | None) -> Iterator[Ticket]:
    """A transaction holding the ticket's row lock, entered only if If-Match holds.

    Reading needs only ``ro``: the action called inside checks its own permission, so a
    ticket the agent cannot see is 404 and one it may only read is 403.
    """
    with transaction.atomic():
        ticket = access_ticket(agent, number=number, for_update=True)
        check_if_match(ticket, if_match)
        yield ticket
