"""The "Spam" and "Not spam" actions on a ticket (the API side of ``actions.spam``).

The same checks as everywhere: ``move_into`` on the ticket's queue and on the queue it
goes to (403), a ticket the caller may not see is 404, a queue without a junk queue
is 422.  The filter learns after the change has committed, so these take no
If-Match: the answer says where the ticket went and whether the filter learned it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from helpline.actions import spam
from helpline.actions.access import access_ticket
from helpline.api.schemas import TicketNumber, answers

router = Router(tags=["tickets"])


class SpamOut(Schema):
    number: str
    queue: str = Field(description="The queue the ticket is in now.")
    moved: bool = Field(description="False when it was there already.")
    learned: int = Field(description="Received messages the spam filter learned.")
    not_learned: str = Field(
        description="Why the filter learned nothing (not configured, down); or ''."
    )


def _answer(result: spam.SpamResult) -> dict[str, Any]:
    return {
        "number": result.ticket.number,
        "queue": result.queue,
        "moved": result.moved,
        "learned": result.learned,
        "not_learned": result.not_learned,
    }


@router.post(
    "/tickets/{number}/spam",
    response=answers({200: SpamOut}, 403, 404, 409),
    summary="Spam: move the ticket to its queue's junk queue, its mail learned as spam",
)
def mark_spam(request: HttpRequest, number: TicketNumber) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    return _answer(spam.mark_spam(agent, ticket.pk))


@router.post(
    "/tickets/{number}/not-spam",
    response=answers({200: SpamOut}, 403, 404, 409),
    summary="Not spam: move the ticket back where routing puts it, learned as ham",
)
def mark_not_spam(request: HttpRequest, number: TicketNumber) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    return _answer(spam.mark_not_spam(agent, ticket.pk))
