"""Writing: reply, forward, note, phone call, new email ticket, new phone ticket."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from helpline.actions import mentions, read_audit
from helpline.actions.access import access_ticket, queues_with
from helpline.actions.articles import NewArticle, NewAttachment, add_article
from helpline.actions.tickets import create_ticket, set_state
from helpline.blobstore import read_blob
from helpline.errors import HelplineError, NotFound
from helpline.models import (
    Article,
    ArticleChannel,
    Permission,
    ReadKind,
    Template,
    TemplateType,
    Ticket,
)
from helpline.models.presence import PresenceAction
from helpline.responses.replies import (
    Draft,
    compose_reply,
    create_email_ticket,
    forward,
    last_customer_article,
    reply,
)
from helpline.web import forms, presence
from helpline.web.views.agentday import not_notified_message
from helpline.web.views.decorators import AgentRequest, agent_view
from helpline.web.views.screens import action_screen, uploaded_files, zoom_url


def _article(ticket: Ticket, raw_id: str | None) -> Article | None:
    """The article named in the request, or the customer's last one."""
    if raw_id:
        try:
            article = ticket.articles.filter(pk=int(raw_id)).first()
        except ValueError:
            article = None
        if article is None:
            raise NotFound(_("That article is not in this ticket."))
        return article
    return last_customer_article(ticket)


def _template(
    ticket: Ticket, raw_id: str | None
) -> tuple[list[Template], Template | None]:
    templates = list(
        Template.objects.filter(
            queues=ticket.queue, type=TemplateType.ANSWER, valid=True
        ).order_by("name")
    )
    chosen = next((t for t in templates if str(t.pk) == raw_id), None)
    return templates, chosen


def _template_files(template: Template | None) -> list[NewAttachment]:
    if template is None:
        return []
    return [
        NewAttachment(a.filename, a.content_type, read_blob(a.blob))
        for a in template.attachments.select_related("blob")
    ]


@agent_view
def reply_view(request: AgentRequest, number: str) -> HttpResponse:
    """Compose (salutation, template, signature, quote) and send a reply."""
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    params = request.POST if request.method == "POST" else request.GET
    original = _article(ticket, params.get("article"))
    templates, template = _template(ticket, params.get("template"))
    reply_all = params.get("all") == "1"
    if request.method == "POST":
        form = forms.ReplyForm(request.POST)
        if form.is_valid():
            done = _send_reply(request, ticket, form, original, template)
            if done is not None:
                return done
            status = 409 if form.non_field_errors() else 200
        else:
            status = 200
    else:
        draft = compose_reply(
            agent, ticket, original, template=template, reply_all=reply_all
        )
        if original is not None:  # the form quotes it
            read_audit.record(agent, ticket, ReadKind.ARTICLE, article_id=original.pk)
        form = forms.ReplyForm(
            initial={
                "to": ", ".join(draft.to),
                "cc": ", ".join(draft.cc),
                "subject": draft.subject,
                "body": draft.body,
            }
        )
        presence.mark(agent, ticket, PresenceAction.REPLYING)
        status = 200
    context = {
        "ticket": ticket,
        "form": form,
        "original": original,
        "templates": templates,
        "template": template,
        "reply_all": reply_all,
        "others": presence.others(agent, ticket),
        "presence_action": PresenceAction.REPLYING,
    }
    return render(request, "helpline/reply.html", context, status=status)


def _send_reply(
    request: AgentRequest,
    ticket: Ticket,
    form: forms.ReplyForm,
    original: Article | None,
    template: Template | None,
) -> HttpResponse | None:
    data = form.cleaned_data
    agent = request.user
    pending = data["state_is_pending"]
    try:
        draft = Draft(
            to=data["to"],
            cc=data["cc"],
            subject=data["subject"],
            body=data["body"],
            in_reply_to=original,
            attachments=_template_files(template) + uploaded_files(request),
        )
        reply(
            agent,
            ticket.pk,
            draft=draft,
            next_state=None if pending else data["next_state"],
        )
    except HelplineError as exc:
        form.add_error(None, exc.message)
        return None
    presence.leave(agent, ticket)
    messages.success(request, _("The reply is queued for sending."))
    if pending:
        try:
            set_state(
                agent,
                ticket.pk,
                data["next_state"],
                pending_until=data["pending_until"],
            )
        except HelplineError as exc:
            messages.error(request, _("The state was not set: %s") % exc.message)
    return redirect(zoom_url(ticket))


@agent_view
def forward_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    params = request.POST if request.method == "POST" else request.GET
    original = (
        _article(ticket, params.get("article"))
        or ticket.articles.order_by("-created", "-id").first()
    )
    if original is None:
        raise NotFound(_("This ticket has no article to forward."))

    def perform(data: dict[str, Any]) -> None:
        forward(agent, ticket.pk, original.pk, to=data["to"], text=data["text"])

    return action_screen(
        request,
        ticket,
        form=forms.ForwardForm(request.POST or None),
        title=_("Forward “%(subject)s”") % {"subject": original.subject or "…"},
        submit=_("Forward"),
        perform=perform,
        success=_("The forward is queued for sending."),
        extra={"hidden": {"article": original.pk}},
    )


@agent_view
def note_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.NOTE)

    def perform(data: dict[str, Any]) -> None:
        article = add_article(
            agent,
            ticket.pk,
            NewArticle(
                channel=ArticleChannel.INTERNAL,
                subject=data["subject"],
                body_text=data["text"],
                attachments=uploaded_files(request),
            ),
        )
        hint = not_notified_message(mentions.outcome_of(article))
        if hint:
            messages.info(request, hint)

    return action_screen(
        request,
        ticket,
        form=forms.NoteForm(request.POST or None),
        title=_("Add a note"),
        submit=_("Add note"),
        perform=perform,
        success=_("The note was added."),
        extra={"uploads": True},
    )


@agent_view
def phone_view(request: AgentRequest, number: str) -> HttpResponse:
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)

    def perform(data: dict[str, Any]) -> None:
        customer = ticket.customer.email if ticket.customer else ""
        incoming = data["direction"] == "customer"
        add_article(
            agent,
            ticket.pk,
            NewArticle(
                channel=ArticleChannel.PHONE,
                sender_type=data["direction"],
                subject=data["subject"] or _("Phone call"),
                body_text=data["text"],
                from_addr=customer if incoming else agent.get_username(),
                to_addr="" if incoming else customer,
            ),
        )

    return action_screen(
        request,
        ticket,
        form=forms.PhoneForm(request.POST or None),
        title=_("Record a phone call"),
        submit=_("Save call"),
        perform=perform,
        success=_("The phone call was recorded."),
    )


@agent_view
def new_email_ticket(request: AgentRequest) -> HttpResponse:
    agent = request.user
    form = forms.NewEmailTicketForm(
        request.POST or None, queues=queues_with(agent, Permission.CREATE)
    )

    def perform(data: dict[str, Any]) -> str:
        ticket, _article = create_email_ticket(
            agent,
            queue=data["queue"],
            to=", ".join(data["to"]),
            subject=data["subject"],
            text=data["text"],
            customer_name=data["customer_name"],
        )
        return reverse("zoom", args=[ticket.number])

    return action_screen(
        request,
        None,
        form=form,
        title=_("New email ticket"),
        submit=_("Send and create ticket"),
        perform=perform,
        success=_("The ticket was created; the email is queued for sending."),
    )


@agent_view
def new_phone_ticket(request: AgentRequest) -> HttpResponse:
    agent = request.user
    form = forms.NewPhoneTicketForm(
        request.POST or None, queues=queues_with(agent, Permission.CREATE)
    )

    def perform(data: dict[str, Any]) -> str:
        email = data["customer_email"]
        ticket, _article = create_ticket(
            agent,
            queue=data["queue"],
            title=data["subject"],
            customer_email=email,
            customer_name=data["customer_name"],
            priority=data["priority"],
            state="open",
            article=NewArticle(
                channel=ArticleChannel.PHONE,
                sender_type="customer",
                subject=data["subject"],
                body_text=data["text"],
                from_addr=email,
            ),
        )
        return reverse("zoom", args=[ticket.number])

    return action_screen(
        request,
        None,
        form=form,
        title=_("New phone ticket"),
        submit=_("Create ticket"),
        perform=perform,
        success=_("The ticket was created."),
    )
