"""What the zoom hands out: attachments, raw sources, and an e-mail's HTML part.

Attachments and raw sources are downloads (``Content-Disposition: attachment``,
``nosniff``, a sandboxing policy).  The HTML part is shown in a sandboxed frame without
scripts, from a separate URL whose policy loads nothing but images from this site: the
message's own raster images (its ``cid:`` parts), which the image URL serves inline.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from helpline.actions import read_audit, redaction
from helpline.actions.access import access_ticket
from helpline.blobstore import blob_chunks, read_blob
from helpline.mail.sanitize import sanitize_html
from helpline.models import Attachment, ReadKind
from helpline.web import inline_images
from helpline.web.cid_images import rewrite_cid_images
from helpline.web.downloads import download, inline_image
from helpline.web.middleware import EMAIL_HTML_POLICY
from helpline.web.views.decorators import AgentRequest, agent_view, image_token_access


def _attachment(
    request: AgentRequest, number: str, attachment_id: int, *, kind: str
) -> Attachment:
    """An attachment of a ticket the agent may see (404 like a missing one
    otherwise), its read recorded as ``kind``."""
    ticket = access_ticket(request.user, number=number)
    item = (
        Attachment.objects.select_related("blob")
        .filter(pk=attachment_id, article__ticket=ticket)
        .first()
    )
    if item is None:
        # A file removed by redaction says so (410), any other is not found.
        gone = redaction.removed_attachment(ticket, attachment_id)
        if gone is not None:
            raise gone
        raise Http404
    read_audit.record(
        request.user, ticket, kind, article_id=item.article_id, attachment_id=item.pk
    )
    return item


@agent_view
def attachment(
    request: AgentRequest, number: str, attachment_id: int
) -> HttpResponse | StreamingHttpResponse:
    item = _attachment(request, number, attachment_id, kind=ReadKind.ATTACHMENT)
    return download(
        blob_chunks(item.blob),
        filename=item.filename,
        content_type=item.content_type,
        size=item.blob.size,
    )


@image_token_access
@agent_view
def attachment_image(
    request: AgentRequest, number: str, attachment_id: int
) -> HttpResponse | StreamingHttpResponse:
    """A PNG, JPEG, GIF or WebP attachment shown inline; anything else a download."""
    item = _attachment(request, number, attachment_id, kind=ReadKind.INLINE)
    data = read_blob(item.blob)
    kind = inline_images.raster_type(item.content_type, data)
    if kind is None:
        return download(data, filename=item.filename, content_type=item.content_type)
    return inline_image(data, filename=item.filename, content_type=kind)


@agent_view
def raw_source(
    request: AgentRequest, number: str, article_id: int
) -> HttpResponse | StreamingHttpResponse:
    ticket = access_ticket(request.user, number=number)
    article = ticket.articles.select_related("raw").filter(pk=article_id).first()
    if article is not None and article.raw is None:
        gone = redaction.removed_raw(ticket, article.pk)
        if gone is not None:
            raise gone
    if article is None or article.raw is None:
        raise Http404
    read_audit.record(request.user, ticket, ReadKind.RAW, article_id=article.pk)
    return download(
        blob_chunks(article.raw),
        filename=f"ticket-{ticket.number}-article-{article.pk}.eml",
        content_type="text/plain",
        size=article.raw.size,
    )


@xframe_options_sameorigin
@agent_view
def article_html(request: AgentRequest, number: str, article_id: int) -> HttpResponse:
    ticket = access_ticket(request.user, number=number)
    article = ticket.articles.filter(pk=article_id).only("id", "body_html").first()
    if article is None or not article.body_html:
        raise Http404
    read_audit.record(request.user, ticket, ReadKind.HTML, article_id=article.pk)
    # Sanitised at intake already; again here, so that HTML stored by any other path
    # (an import, an older version) is held to the same rules.  Then its cid: images
    # point at this site, and every other image is gone.
    sources = inline_images.image_sources(request.user, ticket, article.pk)
    html = rewrite_cid_images(sanitize_html(article.body_html), sources)
    response = render(request, "helpline/article_frame.html", {"html": html})
    response["Content-Security-Policy"] = EMAIL_HTML_POLICY
    response["Cache-Control"] = "private, no-store"
    return response
