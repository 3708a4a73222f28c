"""Redacting an article from the zoom, and what the zoom shows where content was
removed (``actions.redaction``; docs/data-protection.md).

The form lists exactly what can go (the text with its first words, the subject, each
file by name, type and size, the raw mail), each to tick, and asks for the reason; it
works without JavaScript.  Showing it reads the article (recorded in the read audit).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat, truncatechars
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline import local_format
from helpline.actions import read_audit, redaction
from helpline.models import Article, ReadKind
from helpline.web.views.decorators import AgentRequest, agent_view
from helpline.web.views.screens import action_screen

EXCERPT = 160


class RedactForm(forms.Form):
    body = forms.BooleanField(required=False)
    subject = forms.BooleanField(required=False)
    attachments = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Files"),
    )
    raw = forms.BooleanField(required=False)
    reason = forms.CharField(
        max_length=redaction.MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Reason"),
        help_text=gettext_lazy(
            "Kept in the ticket's history with your name, for everyone who may "
            "read the ticket: say why, not what."
        ),
    )

    def __init__(self, *args: Any, article: Article, **kwargs: Any) -> None:
        # The labels quote what is removed; a colon after the quote reads oddly.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        text = article.body_text or article.body_html
        if text.strip():
            self.fields["body"].label = _("The text, plain and HTML: “%(start)s”") % {
                "start": truncatechars(" ".join(text.split()), EXCERPT)
            }
        else:
            del self.fields["body"]
        if article.subject:
            self.fields["subject"].label = _("The subject: “%(subject)s”") % {
                "subject": article.subject
            }
        else:
            del self.fields["subject"]
        files = [
            (a.pk, f"{a.filename} ({a.content_type}, {filesizeformat(a.size)})")
            for a in article.attachments.order_by("pk")
        ]
        if files:
            choices = self.fields["attachments"]
            assert isinstance(choices, forms.TypedMultipleChoiceField)
            choices.choices = files
        else:
            del self.fields["attachments"]
        if article.raw_id is not None:
            self.fields["raw"].label = _(
                "The raw mail as a whole (%(size)s): the text and files shown stay"
            ) % {"size": filesizeformat(article.raw.size if article.raw else 0)}
        else:
            del self.fields["raw"]

    def removal(self) -> redaction.Removal:
        data = self.cleaned_data
        return redaction.Removal(
            body=bool(data.get("body")),
            subject=bool(data.get("subject")),
            attachment_ids=frozenset(data.get("attachments") or ()),
            raw=bool(data.get("raw")),
        )


@agent_view
def redact_view(request: AgentRequest, number: str, article_id: int) -> HttpResponse:
    agent = request.user
    article = redaction.access_article(agent, number, article_id)
    ticket = article.ticket
    read_audit.record(agent, ticket, ReadKind.ARTICLE, article_id=article.pk)
    form = RedactForm(request.POST or None, article=article)

    def perform(data: dict[str, Any]) -> None:
        done = redaction.redact(
            agent,
            number=ticket.number,
            article_id=article.pk,
            removal=form.removal(),
            reason=data["reason"],
        )
        if done.already and not done.removed:
            messages.info(request, _("That had been removed already."))

    return action_screen(
        request,
        ticket,
        form=form,
        title=_("Redact article %(id)s") % {"id": article.pk},
        submit=_("Remove for good"),
        perform=perform,
        success=_("Removed by redaction."),
        partial="helpline/partials/redact_form.html",
    )


# -- the zoom -----------------------------------------------------------------------
def show_tombstones(articles: list[Article]) -> None:
    """Set ``redacted`` on each article: {what: [lines]} saying what redactions
    removed from it, by whom, when and why (one query for all of them)."""
    found = redaction.get_tombstones([a.pk for a in articles])
    for article in articles:
        lines: dict[str, list[str]] = {}
        for stone in found.get(article.pk, []):
            lines.setdefault(stone.what, []).append(_line(stone))
        article.redacted = lines  # type: ignore[attr-defined]


def _line(stone: redaction.Tombstone) -> str:
    values = {
        "reason": stone.reason,
        "actor": stone.actor or _("system"),
        "date": local_format.short_datetime(stone.at),
    }
    if stone.what == redaction.BODY:
        return _("Text removed by redaction (%(reason)s) by %(actor)s on %(date)s.") % (
            values
        )
    if stone.what == redaction.SUBJECT:
        return (
            _("Subject removed by redaction (%(reason)s) by %(actor)s on %(date)s.")
            % values
        )
    if stone.what == redaction.RAW:
        return (
            _("Raw mail removed by redaction (%(reason)s) by %(actor)s on %(date)s.")
            % values
        )
    return _(
        "A file (%(type)s, %(size)s) removed by redaction (%(reason)s) by "
        "%(actor)s on %(date)s."
    ) % {
        **values,
        "type": stone.content_type or "?",
        "size": filesizeformat(stone.size or 0),
    }
