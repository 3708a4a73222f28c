"""The shapes of the API's requests and answers (what docs/openapi.json describes).

Input schemas forbid unknown fields, so a misspelt field is an error rather than a
silent no-op, and take the document's types strictly: a boolean is true or false (not
0, 1 or "yes"), an integer is not a boolean, a time is a string.  Text never contains NUL (the databases refuse it).  Output schemas read
model instances; the views select the related rows they use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from helpline.actions.disclosure import merged_into_numbers

NO_NUL = r"^[^\x00]*$"
# File names go into mail headers: no control characters (no line breaks).
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
# Standard base64 with padding: exactly what ``base64.b64decode(validate=True)`` takes.
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
MEDIA_TYPE = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$"
TICKET_NUMBER = r"^[0-9A-Za-z_.-]{1,40}$"

# Database ids are 64-bit: a larger number is not an id (and would not fit a query).
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
TicketNumber = Annotated[str, StringConstraints(pattern=TICKET_NUMBER)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
Login = Annotated[str, StringConstraints(min_length=1, max_length=150, pattern=NO_NUL)]
Title = Annotated[str, StringConstraints(max_length=255, pattern=NO_NUL)]
Email = Annotated[str, StringConstraints(max_length=320, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=1_000_000, pattern=NO_NUL)]

# The choices of the models, spelt out for the schema (test_openapi keeps them equal).
StateTypeName = Literal[
    "new", "open", "pending_reminder", "pending_auto", "closed", "merged", "removed"
]
ChannelName = Literal["email", "phone", "internal"]
SenderName = Literal["agent", "customer", "system"]
PermissionName = Literal[
    "ro",
    "move_into",
    "create",
    "note",
    "owner",
    "priority",
    "rw",
    "override_lock",
    "redact",
    "manage",
]


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omissible(**constraints: Any) -> Any:
    """A field that may be left out but not sent as null."""
    return Field(default=None, json_schema_extra=_without_default, **constraints)


def _text_only(value: Any) -> Any:
    # Pydantic reads a number as a Unix time; the document says a date-time string.
    if not isinstance(value, str):
        raise ValueError("a date-time string is required")
    return value


def _json_integer(value: Any) -> Any:
    # JSON's integers: 2 and 2.0, not true (a bool is an int to Python) nor "2".
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("an integer is required")
    return value


def _true_or_false(value: Any) -> Any:
    # A query string carries text: only the document's spelling of a boolean.
    if value not in ("true", "false", True, False):
        raise ValueError("true or false is required")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_text_only)]
Integer = Annotated[int, BeforeValidator(_json_integer)]
QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --- errors -------------------------------------------------------------------------
class ErrorIssue(Schema):
    location: list[str]
    message: str


class ErrorInfo(Schema):
    code: str = Field(description="Stable, machine-readable; see docs/api.md.")
    message: str = Field(description="For people; may change.")
    details: list[ErrorIssue] | None = Field(
        default=None, description="Validation problems (code 'invalid', status 422)."
    )


class ErrorOut(Schema):
    error: ErrorInfo


def answers(ok: dict[int, Any], *errors: int, body: bool = False) -> dict[int, Any]:
    """An operation's responses: the successful ones and the errors it can give.

    401 and 429 can happen on every authenticated operation, 422 wherever input is
    read (the schema's rules, and the domain refusing a value or an unknown name), 400
    (not JSON) and 413 (too large) wherever a body is read.
    """
    codes = sorted({401, 422, 429, *errors, *([400, 413] if body else [])})
    return {**ok, **{code: ErrorOut for code in codes}}


# --- tickets ------------------------------------------------------------------------
class CustomerOut(Schema):
    email: str
    name: str


class TicketOut(Schema):
    number: str
    title: str
    queue: str
    state: str
    state_type: StateTypeName
    priority: int = Field(ge=1, le=5)
    locked: bool
    owner: str | None = Field(description="Login of the owner.")
    responsible: str | None = Field(description="Login of the responsible agent.")
    customer: CustomerOut | None
    pending_until: datetime | None
    created: datetime
    changed: datetime
    closed_at: datetime | None
    archived: bool
    legal_hold: bool = Field(
        description="Kept from retention and erasure (POST/DELETE .../legal-hold)."
    )
    anonymised: datetime | None = Field(
        description="When retention or an erasure anonymised it (its content is gone)."
    )
    merged_into: str | None = Field(
        description=(
            "Number of the ticket it was merged into; null when it is not merged "
            "or when you may not see that ticket (state_type is then 'merged')."
        )
    )
    version: int = Field(description="Bumped by every change; the ETag.")
    first_response_due: datetime | None = Field(
        description=(
            "When the first response is due under the ticket's service level; null: "
            "no such target, met, or the clock stopped (docs/service-levels.md)."
        )
    )
    update_due: datetime | None = Field(
        description="When an answer to the customer's follow-up is due."
    )
    solution_due: datetime | None = Field(description="When the solution is due.")
    escalation_at: datetime | None = Field(
        description="The earliest of the due times: when the ticket escalates."
    )

    @staticmethod
    def resolve_queue(obj: Any) -> str:
        return str(obj.queue.name)

    @staticmethod
    def resolve_state(obj: Any) -> str:
        return str(obj.state.name)

    @staticmethod
    def resolve_owner(obj: Any) -> str | None:
        return obj.owner.get_username() if obj.owner_id else None

    @staticmethod
    def resolve_responsible(obj: Any) -> str | None:
        return obj.responsible.get_username() if obj.responsible_id else None

    @staticmethod
    def resolve_merged_into(obj: Any, context: Any) -> str | None:
        """Only a ticket the caller may see (``actions.disclosure``); list views
        settle a whole page at once with ``disclose_merged_into``."""
        if obj.merged_into_id is None:
            return None
        if "merged_into_shown" in vars(obj):
            return obj.merged_into_shown
        return merged_into_numbers(context["request"].auth, [obj]).get(obj.pk)


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None = Field(description="Pass as 'cursor' for the next page.")
    total: int | None = Field(
        default=None, description="Number of matches; given for full-text searches."
    )
    total_capped: bool | None = Field(
        default=None, description="True when 'total' is a lower bound."
    )
    hints: list[str] | None = Field(
        default=None,
        description="For full-text searches: how parts of 'q' were understood, "
        "to show to the person who typed it (a 'word:' that is no field, such as "
        "'File:', is searched as text).",
    )


class AttachmentIn(Input):
    filename: Annotated[
        str, StringConstraints(min_length=1, max_length=255, pattern=NO_CONTROL)
    ]
    content_type: Annotated[
        str, StringConstraints(max_length=255, pattern=MEDIA_TYPE)
    ] = "application/octet-stream"
    content_base64: Annotated[str, StringConstraints(pattern=BASE64)]


class FirstArticleIn(Input):
    channel: Literal["phone", "internal", "email"] = Field(
        default="phone",
        description=(
            "phone and email record the customer's words (nothing is sent); "
            "internal is an agent's note."
        ),
    )
    subject: Title = ""
    body: LongText = ""
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class TicketIn(Input):
    queue: Name
    title: Title
    customer_email: Email = ""
    customer_name: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)] = (
        ""
    )
    priority: Integer = Field(default=3, ge=1, le=5)
    state: Name = "new"
    article: FirstArticleIn


class TicketPatch(Input):
    """Fields left out stay as they are; all changes apply together or not at all."""

    title: Title = omissible()
    priority: Integer = omissible(ge=1, le=5)
    state: Name = omissible()
    pending_until: Timestamp | None = Field(
        default=None,
        description="With a pending state; alone, changes the pending time.",
    )
    owner: Login = omissible(description="Login of the new owner.")
    responsible: Login | None = Field(
        default=None, description="Login of the responsible agent; null removes."
    )
    queue: Name = omissible(description="Move the ticket to this queue.")
    lock: StrictBool = omissible(
        description="true locks the ticket to you; false unlocks."
    )


class MergeIn(Input):
    into: TicketNumber = Field(description="Number of the ticket that remains.")


class SplitIn(Input):
    article_id: Integer = Field(ge=1, le=2**63 - 1)
    title: Title = ""
    queue: Name = omissible(description="Default: the queue of the ticket.")


class LinkIn(Input):
    ticket: TicketNumber
    type: Literal["normal", "parent_child"] = Field(
        default="normal", description="parent_child: this ticket is the parent."
    )


class LinkOut(Schema):
    ticket: str
    title: str
    type: Literal["normal", "parent_child"]
    relation: Literal["linked", "parent", "child"] = Field(
        description="What the other ticket is to this one."
    )


class HistoryOut(Schema):
    id: int
    type: str
    actor: str | None
    created: datetime
    article_id: int | None
    data: dict[str, Any] = Field(
        description=(
            "What changed. Fields naming another ticket (into, source, target, new, "
            "other) are null when you may not see that ticket, and so is 'articles' "
            "of such a merge."
        )
    )
    hidden: list[str] = Field(
        description="The fields of 'data' withheld (null) because they name or "
        "describe a ticket you may not see."
    )


class HistoryPage(Schema):
    items: list[HistoryOut]
    next_cursor: str | None


# --- articles -----------------------------------------------------------------------
class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    inline: bool
    content_id: str


class ArticleOut(Schema):
    id: int
    channel: ChannelName
    sender_type: SenderName
    visible_to_customer: bool
    incoming: bool
    created_by: str | None
    created: datetime
    from_addr: str
    to_addr: str
    cc_addr: str
    bcc_addr: str
    reply_to: str
    subject: str
    body_text: str
    body_html: str = Field(description="Sanitised HTML, or empty.")
    message_id: str
    in_reply_to: str
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id else None

    @staticmethod
    def resolve_attachments(obj: Any) -> list[Any]:
        return list(obj.attachments.all())


class ArticlePage(Schema):
    items: list[ArticleOut]
    next_cursor: str | None


class NoteIn(Input):
    kind: Literal["note"] = Field(description="An internal note; needs 'note'.")
    subject: Title = ""
    text: LongText = ""
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class PhoneIn(Input):
    kind: Literal["phone"] = Field(description="A phone call record; needs 'rw'.")
    subject: Title = ""
    text: LongText = ""
    sender_type: Literal["agent", "customer"] = Field(
        default="customer", description="Who spoke: the customer called, or you did."
    )
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class ReplyIn(Input):
    kind: Literal["reply"] = Field(
        description="An email to the customer, sent through the outbox; needs 'rw'."
    )
    text: LongText = Field(
        default="", description="Your text (with or without template)."
    )
    template: Name = omissible(description="Name of an answer template of the queue.")
    reply_all: StrictBool = Field(
        default=False, description="Copy the other recipients."
    )
    next_state: Name = omissible(description="State afterwards (not a pending one).")
    in_reply_to: Integer = omissible(
        ge=1,
        le=2**63 - 1,
        description="Id of the article answered; default the customer's last.",
    )
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


ArticleIn = Annotated[NoteIn | PhoneIn | ReplyIn, Field(discriminator="kind")]


# --- queues, templates, me ----------------------------------------------------------
class QueueOut(Schema):
    name: str
    group: str
    comment: str
    open: int = Field(description="Open tickets (new, open, pending).")
    new: int

    @staticmethod
    def resolve_group(obj: Any) -> str:
        return str(obj.group.name)

    @staticmethod
    def resolve_open(obj: Any) -> int:
        return int(obj.open_count)

    @staticmethod
    def resolve_new(obj: Any) -> int:
        return int(obj.new_count)


class TemplateOut(Schema):
    name: str
    type: str
    subject: str
    text: str
    attachments: list[str]

    @staticmethod
    def resolve_attachments(obj: Any) -> list[str]:
        return [a.filename for a in obj.attachments.all()]


class QueuePermissions(Schema):
    queue: str
    permissions: list[PermissionName]


class TokenInfo(Schema):
    id: int
    name: str
    prefix: str
    created: datetime
    expires: datetime | None


class MeOut(Schema):
    login: str
    email: str
    first_name: str
    last_name: str
    is_admin: bool
    auth: Literal["token", "session"]
    token: TokenInfo | None
    queues: list[QueuePermissions]


# --- query parameters ---------------------------------------------------------------
Cursor = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[A-Za-z0-9_-]*$")]
Priority = Annotated[int, Field(ge=1, le=5)]


class TicketFilters(Schema):
    q: Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)] = omissible(
        description=(
            "Full-text query; combines with 'archived' and 'order' only "
            "(501 search_unavailable where the server has no search)."
        ),
    )
    queue: list[Name] = Field(default_factory=list, description="Queue names.")
    state: list[Name] = Field(default_factory=list, description="State names.")
    state_type: list[StateTypeName] = Field(default_factory=list)
    priority: list[Priority] = Field(default_factory=list)
    owner: Login = omissible(description="Login of the owner.")
    locked: QueryBool = omissible()
    customer: Email = omissible(description="Customer email address.")
    archived: Literal["false", "true", "any"] = Field(
        default="false", description="Archived tickets are left out by default."
    )
    order: Literal["-changed", "-id", "id"] = Field(
        default="-changed", description="-changed: most recently changed first."
    )
    limit: int = Field(default=25, ge=1, le=100)
    cursor: Cursor = omissible(description="next_cursor of the previous page.")


class PageParams(Schema):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: Cursor = omissible(description="next_cursor of the previous page.")
