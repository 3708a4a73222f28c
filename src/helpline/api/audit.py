"""The read audit for holders of the ``audit_reads`` right: who read what, when, how.

The agent behind the token (or the browser session) must hold the right itself;
being a superuser is not enough (403 ``permission_denied`` otherwise).  A read-only
token is enough: searching is a GET.  Every first page is a search written to the
administration log (``helpline.actions.read_audit_search``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import StringConstraints

from helpline.actions.read_audit_search import check_filters, event_row, search_reads
from helpline.api.schemas import Cursor, Email, Login, answers, omissible

router = Router(tags=["audit"])

# The models' choices, spelt out for the schema (tests keep them equal).
ReadKindName = Literal[
    "ticket", "article", "attachment", "inline", "raw", "html", "history", "export"
]
ReadChannelName = Literal["web", "api", "cli", "admin", "job"]
# A day (2026-03-01) or a moment (2026-03-01T14:30, with or without an offset).
Moment = Annotated[
    str,
    StringConstraints(
        max_length=40,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9:]+)?)?$",
    ),
]
Number = Annotated[str, StringConstraints(max_length=50, pattern=r"^[^\x00]*$")]


class ReadFiltersIn(Schema):
    agent: Login = omissible(description="Login of the agent who read.")
    ticket: Number = omissible(
        description="Ticket number (a deleted ticket's too: the audit keeps it)."
    )
    customer: Email = omissible(
        description="Customer email address: the reads of that customer's tickets."
    )
    since: Moment = omissible(description="From this day (its start) or moment.")
    until: Moment = omissible(description="To this day (its end) or moment.")
    kind: ReadKindName = omissible(description="What was read.")
    channel: ReadChannelName = omissible(description="Through which entry point.")
    limit: int = Field(default=50, ge=1, le=100)
    cursor: Cursor = omissible(description="next_cursor of the previous page.")


class ReadEventOut(Schema):
    id: int
    at: datetime
    agent: str = Field(description="Login of the agent (kept if the account goes).")
    agent_id: int | None
    ticket: str = Field(description="Ticket number (kept if the ticket goes).")
    ticket_id: int | None
    customer_id: int | None = Field(description="The ticket's customer, as an id.")
    kind: ReadKindName
    article_id: int | None
    attachment_id: int | None
    channel: ReadChannelName
    client: str = Field(description="Address and user agent, or the command line.")
    request_id: str


class ReadEventPage(Schema):
    items: list[ReadEventOut]
    next_cursor: str | None


@router.get(
    "/audit/reads",
    response=answers({200: ReadEventPage}, 403),
    summary="Search the read audit, newest first (needs the audit_reads right)",
)
def search_read_audit(request: HttpRequest, filters: Query[ReadFiltersIn]) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    page = search_reads(
        agent,
        check_filters(
            agent=filters.agent,
            ticket=filters.ticket,
            customer=filters.customer,
            since=filters.since,
            until=filters.until,
            kind=filters.kind,
            channel=filters.channel,
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return {
        "items": [event_row(e) for e in page.events],
        "next_cursor": page.next_cursor,
    }
