"""Redacting an article: its text, subject, an attachment or its raw mail, for good
(the API side of ``actions.redaction``; docs/data-protection.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field, StringConstraints

from helpline.actions import redaction
from helpline.api.concurrency import IF_MATCH_HEADER, IfMatch, set_etag, writing
from helpline.api.schemas import NO_NUL, Id, Input, TicketNumber, answers
from helpline.errors import InvalidInput

router = Router(tags=["articles"])

What = Literal["body", "subject", "attachment", "raw"]


class RedactionIn(Input):
    what: What = Field(
        description=(
            "body: the text (plain and HTML); subject: the subject (and the "
            "ticket's title when it is that subject); attachment: the file "
            "'attachment_id' (and the article's other files with the same bytes); "
            "raw: the raw mail as a whole."
        )
    )
    attachment_id: Id | None = Field(
        default=None, description="The attachment, for what=attachment."
    )
    reason: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=redaction.MAX_REASON, pattern=NO_NUL
        ),
    ] = Field(description="Why; kept in the ticket's history.")


class RemovedOut(Schema):
    what: What
    attachment_id: int | None
    size: int | None = Field(description="Bytes of the file or raw mail removed.")
    content_type: str
    title: bool = Field(description="The ticket's title went with the subject.")


class RedactionOut(Schema):
    ticket: str
    article_id: int
    removed: list[RemovedOut] = Field(
        description="What this request removed (empty when all of it was gone)."
    )
    already_removed: list[str] = Field(
        description="What was asked for but had been removed before."
    )


def _removal(body: RedactionIn) -> redaction.Removal:
    if body.what == "attachment":
        if body.attachment_id is None:
            raise InvalidInput("what=attachment needs an attachment_id.")
        return redaction.Removal(attachment_ids=frozenset([body.attachment_id]))
    if body.attachment_id is not None:
        raise InvalidInput("attachment_id goes with what=attachment only.")
    return redaction.Removal(
        body=body.what == "body", subject=body.what == "subject", raw=body.what == "raw"
    )


@router.post(
    "/tickets/{number}/articles/{article_id}/redactions",
    response=answers({200: RedactionOut}, 403, 404, 409, 412, body=True),
    summary="Remove an article's text, subject, attachment or raw mail for good",
    description=(
        "Needs the 'redact' permission on the ticket's queue (rw does not imply "
        "it). What is removed is gone from the article, its raw mail, the search "
        "index and notifications that quoted it; the history records who, what "
        "and why, never the content. Copies quoted in other articles are not "
        "removed. Asking again for what is gone changes nothing (200, "
        "already_removed)."
    ),
)
def redact_article(
    request: HttpRequest,
    number: TicketNumber,
    article_id: Id,
    body: RedactionIn,
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match):
        done = redaction.redact(
            agent,
            number=number,
            article_id=article_id,
            removal=_removal(body),
            reason=body.reason,
        )
    set_etag(response, done.ticket)
    return {
        "ticket": done.ticket.number,
        "article_id": done.article.pk,
        "removed": [
            {
                "what": r.what,
                "attachment_id": r.attachment_id,
                "size": r.size,
                "content_type": r.content_type,
                "title": r.title,
            }
            for r in done.removed
        ],
        "already_removed": done.already,
    }
