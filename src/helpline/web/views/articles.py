"""The zoom's articles: the newest in full, the older ones as headers opened on demand.

A ticket may carry hundreds of articles.  The zoom renders the newest
``HELPLINE_ZOOM_ARTICLES`` (20) in full (``partials/article.html``) and the older ones
as collapsed headers; opening one loads its article from ``article_partial`` (htmx),
through the same access check, and a link to the zoom with ``?all=1`` shows them all
without JavaScript.

Measured with bench/pages.py: ``{% url %}`` and ``|date`` per article were most of a
long ticket's rendering time, so the URLs come from one ``reverse`` per name
(``row_url``) and dates are formatted here; the headers, hundreds of rows of five
values, are one string built here (``headers_html``) rather than a template loop,
which cost ~0.1 ms a row in variable lookups alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from helpline import local_format
from helpline.models import Article, OutboxMessage, Ticket
from helpline.web.listing import row_url


@dataclass(slots=True)
class ArticleHeader:
    """What a collapsed article shows: who, when, the subject."""

    pk: int
    channel: str
    from_addr: str
    subject: str
    created: datetime
    username: str | None
    first_name: str | None
    last_name: str | None

    @property
    def sender(self) -> str:
        if self.from_addr:
            return self.from_addr
        if self.username is None:
            return ""
        full = f"{self.first_name or ''} {self.last_name or ''}".strip()
        return full or self.username


HEADER_VALUES = (
    "id",
    "channel",
    "from_addr",
    "subject",
    "created",
    "created_by__username",
    "created_by__first_name",
    "created_by__last_name",
)


@dataclass
class ZoomArticles:
    full: list[Article]  # rendered in full, in the agent's order
    older: list[ArticleHeader]  # collapsed headers, in the agent's order
    older_first: bool  # the agent reads oldest first: collapsed ones come first


def articles_shown() -> int:
    """How many of the newest articles the zoom renders in full."""
    return max(int(getattr(settings, "HELPLINE_ZOOM_ARTICLES", 20)), 1)


def full_articles(qs: QuerySet[Article]) -> QuerySet[Article]:
    """Articles with what ``partials/article.html`` shows of them."""
    outbox = OutboxMessage.objects.only("id", "article_id", "status", "last_error")
    return qs.select_related("created_by").prefetch_related(
        "attachments", Prefetch("outbox", queryset=outbox)
    )


def zoom_articles(ticket: Ticket, order: str, *, limit: int | None) -> ZoomArticles:
    """The newest ``limit`` articles in full and the older ones as headers (all in
    full when ``limit`` is None): the same queries however many there are."""
    newest = ticket.articles.order_by("-created", "-id")
    if limit is None:
        full, older = list(full_articles(newest)), []
    else:
        full = list(full_articles(newest)[:limit])
        older = [
            ArticleHeader(*row) for row in newest.values_list(*HEADER_VALUES)[limit:]
        ]
    if order == "oldest":
        full.reverse()
        older.reverse()
    return ZoomArticles(full, older, order == "oldest")


def _dates(value: datetime, zone: tzinfo | None = None) -> tuple[str, str, str]:
    """ISO, long and short local time, in the agent's formats (helpline/local_format.py)."""
    local = value.astimezone(zone or timezone.get_current_timezone())
    return (
        local.isoformat(),
        local_format.long_datetime(local),
        local_format.short_datetime(local),
    )


class ArticleLinks:
    """Per-article URLs and display values of one ticket's articles."""

    def __init__(self, number: str, *, all_url: str = "") -> None:
        self.split = row_url("split", number)
        self.redact = row_url("redact", number)
        self.raw = row_url("article-raw", number)
        self.html = row_url("article-html", number)
        self.partial = row_url("article", number)
        self.attachment = row_url("attachment", number)
        self.all_url = all_url

    def full(self, article: Article) -> Article:
        """Set what ``partials/article.html`` shows beyond the article's fields."""
        pk = article.pk
        a: Any = article
        a.created_iso, a.created_full, a.created_short = _dates(article.created)
        by = article.created_by
        a.sender = article.from_addr or (
            (by.get_full_name() or by.get_username()) if by is not None else ""
        )
        a.split_url = self.split(pk)
        a.redact_url = self.redact(pk)
        a.raw_url = self.raw(pk)
        a.html_url = self.html(pk)
        for item in article.attachments.all():
            item.url = self.attachment(item.pk)  # type: ignore[attr-defined]
        return article

    def headers_html(self, headers: list[ArticleHeader]) -> SafeString:
        """The collapsed headers; opening one swaps in its article (htmx), and
        without JavaScript its link opens the zoom with every article."""
        system = escape(gettext("system"))
        show = escape(gettext("Show this message"))
        all_url = escape(self.all_url)
        head, tail = escape(self.partial.head), escape(self.partial.tail)
        zone = timezone.get_current_timezone()
        rows = []
        for h in headers:
            iso, full, short = _dates(h.created, zone)
            sender = escape(h.sender) if h.sender else system
            rows.append(
                f'<details class="article collapsed ch-{escape(h.channel)}" '
                f'id="article-{h.pk}"><summary><span class="from">{sender}</span> '
                f'<time datetime="{iso}" title="{full}">{short}</time> '
                f'<span class="subject">{escape(h.subject)}</span></summary>'
                f'<div class="article-load" hx-get="{head}{h.pk}{tail}" '
                'hx-trigger="toggle once from:closest details" '
                'hx-target="closest details" hx-swap="outerHTML">'
                f'<a href="{all_url}#article-{h.pk}">{show}</a></div></details>\n'
            )
        return mark_safe("".join(rows))  # noqa: S308 - every value escaped above
