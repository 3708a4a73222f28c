"""Articles of a ticket: read them, add notes, phone calls and replies, download files.

A reply is composed and sent by ``responses.replies.reply`` (salutation, template,
signature, quote), stored as an email article and queued in the outbox in the same
transaction: the API never talks SMTP.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Body, Query, Router, Status

from helpline.actions import articles as article_actions
from helpline.actions import mentions, read_audit, redaction
from helpline.actions.access import access_ticket
from helpline.actions.articles import NewArticle
from helpline.api.attachments import decode_attachments, download
from helpline.api.concurrency import IF_MATCH_HEADER, IfMatch, writing
from helpline.api.errors import names_in_content
from helpline.api.pagination import Order, keyset_page
from helpline.api.schemas import (
    ArticleIn,
    ArticleOut,
    ArticlePage,
    Id,
    NoteIn,
    PageParams,
    PhoneIn,
    ReplyIn,
    TicketNumber,
    answers,
)
from helpline.errors import InvalidInput, NotFound
from helpline.models import (
    Article,
    ArticleChannel,
    Attachment,
    ReadKind,
    SenderType,
    TemplateType,
    Ticket,
)
from helpline.responses import replies

router = Router(tags=["articles"])

OLDEST_FIRST = Order("created", descending=False)


def _articles() -> QuerySet[Article]:
    # Attachment rows only: the blob (possibly the bytes themselves) stays unread.
    files = Attachment.objects.order_by("id").only(
        "id", "article_id", "filename", "content_type", "size", "inline", "content_id"
    )
    return Article.objects.select_related("created_by").prefetch_related(
        Prefetch("attachments", queryset=files)
    )


def _article_of(ticket: Ticket, article_id: int) -> Article:
    article = _articles().filter(ticket=ticket, pk=article_id).first()
    if article is None:
        raise NotFound(f"Article {article_id} is not in ticket {ticket.number}.")
    return article


@router.get(
    "/tickets/{number}/articles",
    response=answers({200: ArticlePage}, 404),
    summary="The articles of a ticket, oldest first",
)
def list_articles(
    request: HttpRequest, number: TicketNumber, page: Query[PageParams]
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    items, next_cursor = keyset_page(
        _articles().filter(ticket=ticket),
        OLDEST_FIRST,
        cursor=page.cursor,
        limit=page.limit,
        scope=f"articles:{ticket.pk}",
    )
    # Each article of the page, in full: one event each (one INSERT for the page).
    for article in items:
        read_audit.record(agent, ticket, ReadKind.ARTICLE, article_id=article.pk)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/tickets/{number}/articles/{article_id}",
    response=answers({200: ArticleOut}, 404),
    url_name="article",
    summary="One article",
)
def get_article(request: HttpRequest, number: TicketNumber, article_id: Id) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    article = _article_of(ticket, article_id)
    read_audit.record(agent, ticket, ReadKind.ARTICLE, article_id=article.pk)
    return article


def _reply(agent: Any, ticket: Ticket, body: ReplyIn) -> Article:
    given = body.model_fields_set
    article_id = body.in_reply_to if "in_reply_to" in given else None
    template = body.template if "template" in given else None
    next_state = body.next_state if "next_state" in given else None
    if not body.attachments:
        return replies.reply(
            agent,
            ticket.pk,
            article_id=article_id,
            text=body.text,
            template=template,
            reply_all=body.reply_all,
            next_state=next_state,
        )
    # ``reply`` takes no files: compose the draft as it would, add them, send that.
    original = (
        ticket.articles.filter(pk=article_id).first()
        if article_id is not None
        else replies.last_customer_article(ticket)
    )
    if article_id is not None and original is None:
        raise NotFound(f"Article {article_id} is not in ticket {ticket.number}.")
    chosen = (
        replies.get_template(template, ticket.queue, types=(TemplateType.ANSWER,))
        if template is not None
        else None
    )
    if chosen is None and not body.text.strip():
        raise InvalidInput("A reply needs a text or a template.")
    draft = replies.compose_reply(
        agent,
        ticket,
        original,
        text=body.text,
        template=chosen,
        reply_all=body.reply_all,
    )
    draft.attachments.extend(decode_attachments(body.attachments))
    return replies.reply(agent, ticket.pk, draft=draft, next_state=next_state)


def _add(agent: Any, ticket: Ticket, body: NoteIn | PhoneIn | ReplyIn) -> Article:
    if isinstance(body, ReplyIn):
        return _reply(agent, ticket, body)
    if isinstance(body, NoteIn):
        new = NewArticle(channel=ArticleChannel.INTERNAL, sender_type=SenderType.AGENT)
    else:
        new = NewArticle(
            channel=ArticleChannel.PHONE,
            sender_type=body.sender_type,
            incoming=body.sender_type == SenderType.CUSTOMER,
        )
    new.subject = body.subject
    new.body_text = body.text
    new.attachments = decode_attachments(body.attachments)
    return article_actions.add_article(agent, ticket.pk, new)


@router.post(
    "/tickets/{number}/articles",
    response=answers({201: ArticleOut}, 403, 404, 409, 412, body=True),
    summary="Add a note, a phone call or a reply (sent through the outbox)",
)
def add_article(
    request: HttpRequest,
    number: TicketNumber,
    body: Annotated[ArticleIn, Body()],
    response: HttpResponse,
    if_match: IfMatch = IF_MATCH_HEADER,
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    with writing(agent, number, if_match) as ticket, names_in_content():
        article = _add(agent, ticket, body)
    response["Location"] = reverse(
        "helpline-api:article", kwargs={"number": number, "article_id": article.pk}
    )
    missed = mentions.outcome_of(article).not_notified
    if missed:
        # Mentions that notified nobody (docs/api.md, "Mentions"): neutral, by login.
        response["Helpline-Mentions-Not-Notified"] = ", ".join(missed)
    return Status(201, _articles().get(pk=article.pk))


@router.get(
    "/tickets/{number}/articles/{article_id}/attachments/{attachment_id}",
    response=answers({200: None}, 404, 410),
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, always as a download.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
    summary="Download an attachment",
)
def download_attachment(
    request: HttpRequest, number: TicketNumber, article_id: Id, attachment_id: Id
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(agent, number=number)
    attachment = (
        Attachment.objects.select_related("blob")
        .filter(pk=attachment_id, article_id=article_id, article__ticket=ticket)
        .first()
    )
    if attachment is None:
        # 410 for a file removed by redaction: gone on purpose, not a wrong id.
        raise redaction.removed_attachment(ticket, attachment_id) or NotFound(
            f"No attachment {attachment_id} in article {article_id}."
        )
    read_audit.record(
        agent,
        ticket,
        ReadKind.ATTACHMENT,
        article_id=attachment.article_id,
        attachment_id=attachment.pk,
    )
    return download(attachment)
