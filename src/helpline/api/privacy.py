"""The legal hold of a ticket (the API side of ``actions.legal_hold``).

For holders of the ``handle_personal_data`` right who may read the ticket; anyone
else gets 403 (or 404 for a ticket they may not see), superusers included.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field, StringConstraints

from helpline.actions import legal_hold
from helpline.api.concurrency import IF_MATCH_HEADER, IfMatch, writing
from helpline.api.schemas import NO_NUL, Input, TicketNumber, TicketOut, answers
from helpline.api.tickets import answer_with

router = Router(tags=["tickets"])

Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=legal_hold.MAX_REASON, pattern=NO_NUL),
]


class LegalHoldIn(Input):
    reason: Reason = Field(description="Why the ticket must be kept (in its history).")


class ReleaseParams(Schema):
    reason: Reason = Field(description="Why the hold ends (in the ticket's history).")


@router.post(
    "/tickets/{number}/legal-hold",
    response=answers({200: TicketOut}, 403, 404, 409, 412, body=True),
    summary="Put a ticket under legal hold: retention and erasure leave it alone",
)
def set_legal_hold(
    request: HttpRequest,
    number: TicketNumber,
    body: LegalHoldIn,
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket:
        legal_hold.set_legal_hold(agent, ticket.pk, reason=body.reason)
    return answer_with(response, ticket.pk)


@router.delete(
    "/tickets/{number}/legal-hold",
    response=answers({200: TicketOut}, 403, 404, 409, 412),
    summary="Release a ticket's legal hold",
)
def release_legal_hold(
    request: HttpRequest,
    number: TicketNumber,
    query: Query[ReleaseParams],
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket:
        legal_hold.release_legal_hold(agent, ticket.pk, reason=query.reason)
    return answer_with(response, ticket.pk)
