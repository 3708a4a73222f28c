"""What the zoom hands out: attachments, raw sources, and an e-mail's HTML part.

Attachments and raw sources are always downloads (``Content-Disposition: attachment``,
``nosniff``, a sandboxing policy).  The HTML part is shown in a sandboxed frame without
scripts, from this separate URL whose policy loads nothing from anywhere.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from helpline.actions.access import access_ticket
from helpline.blobstore import read_blob
from helpline.mail.sanitize import sanitize_html
from helpline.models import Attachment
from helpline.web.downloads import download
from helpline.web.middleware import EMAIL_HTML_POLICY
from helpline.web.views.decorators import AgentRequest, agent_view


@agent_view
def attachment(request: AgentRequest, number: str, attachment_id: int) -> HttpResponse:
    ticket = access_ticket(request.user, number=number)
    item = (
        Attachment.objects.select_related("blob")
        .filter(pk=attachment_id, article__ticket=ticket)
        .first()
    )
    if item is None:
        raise Http404
    return download(
        read_blob(item.blob), filename=item.filename, content_type=item.content_type
    )


@agent_view
def raw_source(request: AgentRequest, number: str, article_id: int) -> HttpResponse:
    ticket = access_ticket(request.user, number=number)
    article = ticket.articles.select_related("raw").filter(pk=article_id).first()
    if article is None or article.raw is None:
        raise Http404
    return download(
        read_blob(article.raw),
        filename=f"ticket-{ticket.number}-article-{article.pk}.eml",
        content_type="text/plain",
    )


@xframe_options_sameorigin
@agent_view
def article_html(request: AgentRequest, number: str, article_id: int) -> HttpResponse:
    ticket = access_ticket(request.user, number=number)
    article = ticket.articles.filter(pk=article_id).only("id", "body_html").first()
    if article is None or not article.body_html:
        raise Http404
    # Sanitised at intake already; again here, so that HTML stored by any other path
    # (an import, an older version) is held to the same rules.
    response = render(
        request,
        "helpline/article_frame.html",
        {"html": sanitize_html(article.body_html)},
    )
    response["Content-Security-Policy"] = EMAIL_HTML_POLICY
    response["Cache-Control"] = "private, no-store"
    return response
