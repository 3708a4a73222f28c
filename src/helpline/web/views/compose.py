"""Writing: reply, forward, note, phone call, new email ticket, new phone ticket."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, TypeVar

from django.contrib import messages
from django.db import transaction
from django.forms import Form as DjangoForm
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _

from helpline.actions import read_audit
from helpline.actions.access import access_ticket, may, queues_with
from helpline.actions.articles import NewArticle, NewAttachment, add_article
from helpline.actions.tickets import create_ticket, set_state
from helpline.blobstore import read_blob
from helpline.errors import HelplineError, NotFound
from helpline.models import (
    Article,
    ArticleChannel,
    Permission,
    Queue,
    ReadKind,
    Template,
    TemplateType,
    Ticket,
)
from helpline.models.presence import PresenceAction
from helpline.responses.language import detect_language, in_language, primary
from helpline.responses.render import Context
from helpline.responses.replies import (
    QUOTE_HEADER,
    Draft,
    compose_new_email,
    compose_reply,
    create_email_ticket,
    find_template,
    forward,
    last_customer_article,
    mail_text,
    offered_templates,
    reply,
    salutation_of,
    signature_of,
    template_languages,
    template_text,
)
from helpline.web import forms, presence
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
    """The answer templates offered in the ticket's queue, and the one named by
    ``raw_id`` (one of them or a translation of one), if any."""
    types = (TemplateType.ANSWER,)
    templates = list(offered_templates(ticket.queue, types))
    chosen = find_template(ticket.queue, types, pk=raw_id) if raw_id else None
    return templates, chosen


LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def _language(raw: str | None, original: Article | None) -> tuple[str, str]:
    """(the language to use templates in, the one detected in ``original``): the
    agent's choice ``raw`` if it is a language code, else the detected one."""
    detected = detect_language(original.body_text) if original is not None else ""
    chosen = (raw or "").strip()
    return (chosen if LANGUAGE_CODE.match(chosen) else detected), detected


def _translated(template: Template | None, language: str) -> Template | None:
    """``template`` in ``language`` (a translation chosen by id stays as it is)."""
    if template is None or template.translation_of_id is not None:
        return template
    found: Template = in_language(template, language)
    return found


def language_name(code: str) -> str:
    for candidate in (code.lower().replace("_", "-"), primary(code)):
        try:
            return str(get_language_info(candidate)["name_translated"])
        except KeyError:
            continue
    return code


def _template_files(template: Template | None) -> list[NewAttachment]:
    if template is None:
        return []
    return [
        NewAttachment(a.filename, a.content_type, read_blob(a.blob))
        for a in template.attachments.select_related("blob")
    ]


def _reply_form_initial(data: Any) -> dict[str, Any]:
    return {
        name: data.get(name, "")
        for name in ("to", "cc", "subject", "next_state", "pending_until")
    }


def insert_template(body: str, text: str, signature: str) -> str:
    """Without a cursor (no JavaScript): put a template's ``text`` after what the
    agent wrote, before the signature (or the quote, or at the end), a paragraph of
    its own."""
    body = mail_text(body)
    at = body.find(signature) if signature else -1
    if at < 0:
        quote = QUOTE_HEADER.search(body)
        at = quote.start() if quote else len(body)
    before, after = body[:at].rstrip("\n"), body[at:].lstrip("\n")
    parts = [p for p in (before, text.strip("\n"), after) if p]
    return mail_text("\n\n".join(parts))


def _templates_of(ticket: Ticket, type_: str) -> list[Template]:
    return list(offered_templates(ticket.queue, (type_,)))


def _posted_with_template(
    request: AgentRequest,
    ticket: Ticket,
    templates: list[Template],
    original: Article | None,
) -> dict[str, Any] | None:
    """A note or forward form posted with "Insert template" or "Replace the whole
    text" (no JavaScript): what the form shows next, the typed text kept and the
    template in it; ``None`` for any other request."""
    use = request.POST.get("use_template") if request.method == "POST" else None
    if use not in ("insert", "replace"):
        return None
    initial: dict[str, Any] = {
        key: request.POST.get(key)
        for key in request.POST
        if key not in ("csrfmiddlewaretoken", "use_template", "pick")
    }
    picked = next((t for t in templates if str(t.pk) == request.POST.get("pick")), None)
    if picked is not None:
        text = template_text(request.user, ticket, original, picked)
        typed = request.POST.get("text", "")
        initial["text"] = (
            mail_text(text) if use == "replace" else insert_template(typed, text, "")
        )
        initial["template"] = picked.pk
    return initial


FormT = TypeVar("FormT", bound=DjangoForm)


def _focus_first(form: FormT) -> FormT:
    """The form's first field takes the focus (in the zoom's dialog too), not the
    template picker above it: typing must never choose a template."""
    first = next(iter(form.fields.values()), None)
    if first is not None:
        first.widget.attrs["autofocus"] = True
    return form


def _picker(
    ticket: Ticket, type_: str, templates: list[Template], original: Article | None
) -> dict[str, Any]:
    """What action_form.html needs to offer ``templates`` above the text."""
    if not templates:
        return {}
    url = reverse("ticket-template", args=[ticket.number]) + f"?type={type_}"
    if original is not None:
        url += f"&article={original.pk}"
    return {"templates": templates, "template_url": url, "template_target": "id_text"}


@agent_view
def reply_view(request: AgentRequest, number: str) -> HttpResponse:
    """Compose (salutation, template, signature, quote) and send a reply.

    Choosing a template never loses what was typed: with JavaScript the page fetches
    the template (``reply_template_view``) and inserts it at the cursor; without, the
    "Insert" and "Replace" buttons post the whole form, and it comes back with the
    typed text and the template in it, unsent.
    """
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    params = request.POST if request.method == "POST" else request.GET
    original = _article(ticket, params.get("article"))
    templates, template = _template(ticket, params.get("template"))
    language, detected = _language(params.get("lang"), original)
    reply_all = params.get("all") == "1"
    insert_at: int | None = None
    use = request.POST.get("use_template") if request.method == "POST" else None
    status = 200
    if use in ("insert", "replace"):
        _offered, picked = _template(ticket, request.POST.get("pick"))
        picked = _translated(picked, language)
        initial = _reply_form_initial(request.POST)
        body = request.POST.get("body", "")
        if picked is not None:
            template = picked
            if use == "replace":
                body = compose_reply(
                    agent,
                    ticket,
                    original,
                    text=template_text(agent, ticket, original, picked),
                    reply_all=reply_all,
                ).body
            else:
                about = Context(
                    ticket=ticket,
                    agent=agent,
                    customer=ticket.customer,
                    original=original,
                )
                body = insert_template(
                    body,
                    template_text(agent, ticket, original, picked),
                    signature_of(ticket.queue, about),
                )
        form = forms.ReplyForm(initial={**initial, "body": mail_text(body)})
    elif request.method == "POST":
        form = forms.ReplyForm(request.POST)
        if form.is_valid():
            done = _send_reply(request, ticket, form, original, template)
            if done is not None:
                return done
            status = 409 if form.non_field_errors() else 200
    else:
        template = _translated(template, language)
        draft = compose_reply(
            agent, ticket, original, template=template, reply_all=reply_all
        )
        insert_at = draft.insert_at
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
    if insert_at is not None:
        form.fields["body"].widget.attrs["data-insert-at"] = str(insert_at)
    context = {
        "ticket": ticket,
        "form": form,
        "original": original,
        "templates": templates,
        "template": template,
        "languages": [
            (code, language_name(code))
            for code in template_languages(ticket.queue, (TemplateType.ANSWER,))
        ],
        "language": params.get("lang", ""),
        "detected": language_name(detected) if detected else "",
        "reply_all": reply_all,
        "others": presence.others(agent, ticket),
        "presence_action": PresenceAction.REPLYING,
    }
    return render(request, "helpline/reply.html", context, status=status)


@agent_view
def reply_template_view(request: AgentRequest, number: str) -> HttpResponse:
    """A template rendered for this reply, as JSON for the reply form's script:
    ``text`` to insert at the cursor, ``body`` to replace the whole text with."""
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.RW)
    original = _article(ticket, request.GET.get("article"))
    _offered, template = _template(ticket, request.GET.get("template"))
    template = _translated(template, _language(request.GET.get("lang"), original)[0])
    if template is None:
        raise NotFound(_("No such template for this ticket's queue."))
    text = template_text(agent, ticket, original, template)
    # The same body as with ``template=``, without reading its attachments' blobs.
    draft = compose_reply(
        agent, ticket, original, text=text, reply_all=request.GET.get("all") == "1"
    )
    return JsonResponse(
        {
            "template": template.pk,
            "text": text,
            "body": draft.body,
            "insert_at": draft.insert_at,
            "language": template.language,
            "attachments": [a.filename for a in template.attachments.all()],
        }
    )


TEMPLATE_NEEDS: dict[str, str] = {
    TemplateType.NOTE: Permission.NOTE,
    TemplateType.FORWARD: Permission.RW,
}


@agent_view
def ticket_template_view(request: AgentRequest, number: str) -> HttpResponse:
    """A note or forward template rendered for this ticket, as JSON (``text``), for
    the note and forward forms' script; the permission is the form's own."""
    type_ = request.GET.get("type", "")
    if type_ not in TEMPLATE_NEEDS:
        raise NotFound(_("No such template for this ticket's queue."))
    agent = request.user
    ticket = access_ticket(agent, number=number, need=TEMPLATE_NEEDS[type_])
    original = _article(ticket, request.GET.get("article"))
    template = next(
        (
            t
            for t in _templates_of(ticket, type_)
            if str(t.pk) == request.GET.get("template")
        ),
        None,
    )
    if template is None:
        raise NotFound(_("No such template for this ticket's queue."))
    return JsonResponse(
        {
            "template": template.pk,
            "text": template_text(agent, ticket, original, template),
            "attachments": [],
        }
    )


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

    templates = _templates_of(ticket, TemplateType.FORWARD)
    again = _posted_with_template(request, ticket, templates, original)
    return action_screen(
        request,
        ticket,
        form=_focus_first(
            forms.ForwardForm(initial=again)
            if again is not None
            else forms.ForwardForm(request.POST or None)
        ),
        title=_("Forward “%(subject)s”") % {"subject": original.subject or "…"},
        submit=_("Forward"),
        perform=perform,
        success=_("The forward is queued for sending."),
        extra={
            "hidden": {"article": original.pk},
            **_picker(ticket, TemplateType.FORWARD, templates, original),
        },
    )


@agent_view
def note_view(request: AgentRequest, number: str) -> HttpResponse:
    """A note; an agent who may change the ticket can set its state in the same step
    (both through their actions, in one transaction: both happen or neither)."""
    agent = request.user
    ticket = access_ticket(agent, number=number, need=Permission.NOTE)
    with_state = may(agent, ticket, Permission.RW)

    def perform(data: dict[str, Any]) -> None:
        with transaction.atomic():
            add_article(
                agent,
                ticket.pk,
                NewArticle(
                    channel=ArticleChannel.INTERNAL,
                    subject=data["subject"],
                    body_text=data["text"],
                    attachments=uploaded_files(request),
                ),
            )
            if with_state and data.get("next_state"):
                set_state(
                    agent,
                    ticket.pk,
                    data["next_state"],
                    pending_until=data["pending_until"],
                )

    templates = _templates_of(ticket, TemplateType.NOTE)
    original = last_customer_article(ticket)
    again = _posted_with_template(request, ticket, templates, original)
    return action_screen(
        request,
        ticket,
        form=_focus_first(
            forms.NoteForm(initial=again, with_state=with_state)
            if again is not None
            else forms.NoteForm(request.POST or None, with_state=with_state)
        ),
        title=_("Add a note"),
        submit=_("Add note"),
        perform=perform,
        success=_("The note was added."),
        extra={
            "uploads": True,
            **_picker(ticket, TemplateType.NOTE, templates, original),
        },
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


def _frame(agent: Any, queue: Queue | None, name: str) -> tuple[str, str]:
    """The salutation and signature a new email from ``queue`` to ``name`` gets."""
    if queue is None:
        return "", ""
    context = Context(agent=agent, customer=SimpleNamespace(name=name, email=""))
    return salutation_of(queue, context), signature_of(queue, context)


def _own_text(text: str, frame: tuple[str, str]) -> str:
    """``text`` without the salutation and signature shown around it before."""
    text = mail_text(text).strip("\n")
    salutation, signature = frame
    if salutation and text.startswith(salutation):
        text = text[len(salutation) :]
    if signature and text.endswith(signature):
        text = text[: -len(signature)]
    return text.strip("\n")


@agent_view
def new_email_ticket(request: AgentRequest) -> HttpResponse:
    """Write to a customer, opening a ticket.  The text area holds the whole mail:
    the queue's salutation and signature are in it, editable, and nothing is added
    out of sight.  "Show salutation and signature" (and a send after the queue or
    the name changed) puts the right ones in, keeping what was typed, unsent."""
    agent = request.user
    queues = queues_with(agent, Permission.CREATE)
    data = request.POST if request.method == "POST" else None
    if data is None:
        queue = (
            queues.order_by("name").filter(pk=_int(request.GET.get("queue"))).first()
        )
        queue = queue or (queues.first() if queues.count() == 1 else None)
        draft = compose_new_email(agent, queue) if queue else None
        form = forms.NewEmailTicketForm(
            queues=queues,
            initial={
                "queue": queue.pk if queue else None,
                "text": draft.body if draft else "",
                "shown_queue": queue.pk if queue else "",
                "shown_name": "",
            },
        )
        if draft is not None:
            attrs = form.fields["text"].widget.attrs
            attrs["data-insert-at"] = str(draft.insert_at)
            attrs["data-no-focus"] = ""  # queue and recipient come first
        return _new_email_screen(request, form)
    queue = queues.filter(pk=_int(data.get("queue"))).first()
    name = data.get("customer_name", "").strip()
    shown = _frame(
        agent,
        queues.filter(pk=_int(data.get("shown_queue"))).first(),
        data.get("shown_name", "").strip(),
    )
    wanted = _frame(agent, queue, name)
    if data.get("prepare") or (queue is not None and wanted != shown):
        draft = (
            compose_new_email(
                agent,
                queue,
                customer_name=name,
                text=_own_text(data.get("text", ""), shown),
            )
            if queue
            else None
        )
        changed = data.copy()
        changed["text"] = draft.body if draft else data.get("text", "")
        changed["shown_queue"] = str(queue.pk) if queue else ""
        changed["shown_name"] = name
        form = forms.NewEmailTicketForm(
            queues=queues, initial={k: changed.get(k) for k in changed}
        )
        if not data.get("prepare"):
            messages.info(
                request,
                _(
                    "The salutation and signature now match the queue and the "
                    "customer's name; check the text and send."
                ),
            )
        return _new_email_screen(request, form)
    form = forms.NewEmailTicketForm(data, queues=queues)

    def perform(cleaned: dict[str, Any]) -> str:
        ticket, _article = create_email_ticket(
            agent,
            queue=cleaned["queue"],
            to=", ".join(cleaned["to"]),
            subject=cleaned["subject"],
            text=cleaned["text"],
            customer_name=cleaned["customer_name"],
            as_shown=True,
        )
        return reverse("zoom", args=[ticket.number])

    return _new_email_screen(request, form, perform)


def _int(raw: str | None) -> int:
    """A posted id, or 0 (which names nothing)."""
    return int(raw) if raw and raw.isdigit() else 0


def _new_email_screen(
    request: AgentRequest,
    form: forms.NewEmailTicketForm,
    perform: Any = None,
) -> HttpResponse:
    return action_screen(
        request,
        None,
        form=form,
        title=_("New email ticket"),
        submit=_("Send and create ticket"),
        perform=perform or (lambda _data: None),
        success=_("The ticket was created; the email is queued for sending."),
        extra={
            "secondary": {
                "name": "prepare",
                "label": _("Show salutation and signature"),
            }
        },
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
