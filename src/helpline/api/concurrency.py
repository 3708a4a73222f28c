"""Optimistic concurrency: a ticket's ``version`` is its ETag, checked by If-Match.

Every answer that shows a ticket carries ``ETag: "<version>"``.  Every write to a ticket
accepts ``If-Match``: the write happens only if the ticket still has that version,
checked under the ticket's row lock in the write's own transaction, so two clients that
read the same version cannot both write.  If-Match is optional (docs/api.md says why).
A header that is not an If-Match by RFC 9110's grammar (an unquoted ``3``) is refused as invalid input (422), never compared: a
client that sends a broken header must learn so, not retry a 412 forever.  An empty
header is a list of no tags (the grammar allows it): nothing matches, 412.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from django.db import transaction
from django.http import HttpResponse
from ninja import Header
from pydantic import StringConstraints

from helpline.actions.access import access_ticket
from helpline.api.errors import ApiError
from helpline.models import Ticket

# RFC 9110, sections 13.1.1 and 8.8.3: "*" or a list of entity tags, each quoted, maybe
# weak (W/).  Tag characters are visible ASCII except the quote (obs-text left out).
ENTITY_TAG = r'(?:W/)?"[!#-~]*"'
# The list may be empty (RFC 9110 5.6.1, "#entity-tag"): no tag matches, so 412.
IF_MATCH = rf"^[ \t]*(?:\*|(?:{ENTITY_TAG}(?:[ \t]*,[ \t]*{ENTITY_TAG})*)?)[ \t]*$"
IfMatch = Annotated[str, StringConstraints(pattern=IF_MATCH)]

IF_MATCH_HELP = (
    'Write only if the ticket\'s ETag is still this one ("<version>", as served in '
    'the ETag header; also "*" or a list of tags); 412 otherwise, also when empty. '
    "A value that is not an If-Match (an unquoted 3) is 422."
)


def if_match_header() -> Any:
    """The optional If-Match request header, documented with its grammar."""
    return Header(
        None,
        alias="If-Match",
        description=IF_MATCH_HELP,
    )


# The views' default for ``if_match: IfMatch``: None when the header is not sent.
IF_MATCH_HEADER = if_match_header()


def _tags(if_match: str) -> list[str]:
    """The entity tags of a header that matched ``IF_MATCH``, as sent (W/ kept)."""
    return re.findall(ENTITY_TAG, if_match)


def etag_of(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


def set_etag(response: HttpResponse, ticket: Ticket) -> None:
    response["ETag"] = etag_of(ticket)


def check_if_match(ticket: Ticket, if_match: str | None) -> None:
    """Refuse with 412 when ``if_match`` names another version of ``ticket``.

    Strong comparison (RFC 9110): a weak tag ``W/"3"`` never matches; ``*`` always does.
    """
    if if_match is None or if_match.strip() == "*":
        return
    tags = _tags(if_match)
    if etag_of(ticket) in tags:
        return
    why = (
        "has changed since you read it"
        if tags
        else "has a version; If-Match names none"
    )
    raise ApiError(
        412,
        "precondition_failed",
        f"Ticket {ticket.number} {why} (now version "
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
