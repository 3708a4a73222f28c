"""Answering: replies, forwards and new outgoing email tickets (BEHAVIOUR.md s. 5).

The composed text (salutation + text + signature + the quoted original) is what the
agent edits in the web interface; ``compose_reply`` builds it, ``send_email`` stores the
outgoing article with the exact bytes and queues them in the outbox, in one transaction.

What the agent sees is what is sent: ``mail_text`` is the one change made to a text
before it goes out (line breaks made uniform, a last line break added, as every text
part of a mail has one), and the form shows the text after it, so the form's text, the
stored article and the mail's text part (with its line breaks as CRLF, as MIME writes
them) are the same characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from helpline.actions.access import access_ticket, require_in_queue
from helpline.actions.articles import NewArticle, NewAttachment, do_add_article
from helpline.actions.locks import claim
from helpline.actions.tickets import do_create_ticket, do_set_state, get_state
from helpline.addresses import addresses_in, normalize_all
from helpline.errors import InvalidInput, NotFound
from helpline.local_format import site_time
from helpline.mail.compose import Outgoing, build
from helpline.mail.outbound import queue_message
from helpline.models import (
    Article,
    ArticleChannel,
    HistoryType,
    Permission,
    Queue,
    SenderType,
    SystemAddress,
    Template,
    TemplateType,
    Ticket,
)
from helpline.numbers import build_subject
from helpline.responses.language import detect_language, in_language
from helpline.responses.render import Context, render


@dataclass
class Draft:
    to: list[str]
    cc: list[str]
    subject: str
    body: str
    in_reply_to: Article | None = None
    attachments: list[NewAttachment] = field(default_factory=list)
    # Where in ``body`` the agent's own text goes (after the salutation): the web form
    # puts the cursor there and inserts a template there if the agent has not clicked.
    insert_at: int = 0


# "On 2026-01-02 10:00, jane@example.net wrote:", the line before a quoted original.
QUOTE_HEADER = re.compile(r"^On \d{4}-\d\d-\d\d \d\d:\d\d, .* wrote:$", re.M)


def mail_text(text: str) -> str:
    """``text`` as it is sent: line breaks as LF (CRLF on the wire) and a last one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    return text


def _assemble(head: list[str], middle: list[str], tail: list[str]) -> tuple[str, int]:
    """Salutation, the agent's text, then signature and quote, a blank line apart.

    With no text yet, an empty paragraph is left between salutation and signature for
    the agent to write in; return the body and where that text starts."""
    before = "".join(p + "\n\n" for p in head if p)
    text = "\n\n".join(p for p in middle if p)
    after = "\n\n".join(p for p in tail if p)
    if after and (text or before):
        after = "\n\n" + after
    return mail_text(before + text + after), len(before)


def _emails(header_value: str) -> list[str]:
    # Canonical addresses (helpline.addresses): a display name never adds one.
    return addresses_in(header_value)


def _own_addresses() -> set[str]:
    return normalize_all(SystemAddress.objects.values_list("email", flat=True))


def sender_of(queue: Queue, agent: Any | None = None) -> tuple[str, str]:
    """(display name, address) of mail from ``queue``: "Agent via Queue name"."""
    address = queue.system_address
    if address is None:
        raise InvalidInput(
            f"Queue {queue.name} has no system address to send from; an administrator "
            "sets one."
        )
    name = address.display_name or queue.name
    if agent is not None:
        agent_name = f"{agent.first_name} {agent.last_name}".strip()
        if agent_name:
            name = f"{agent_name} via {name}"
    return name, address.email


def last_customer_article(ticket: Ticket) -> Article | None:
    return (
        ticket.articles.filter(sender_type=SenderType.CUSTOMER)
        .exclude(channel=ArticleChannel.INTERNAL)
        .order_by("-created", "-id")
        .first()
    )


def offered_templates(queue: Queue, types: tuple[str, ...]) -> QuerySet[Template]:
    """The templates a form offers in ``queue``: valid, of ``types``, assigned to the
    queue, and not translations (a translation is used in place of its template)."""
    return Template.objects.filter(
        queues=queue, type__in=types, valid=True, translation_of__isnull=True
    ).order_by("name")


def answer_template_names(queue_ids: set[int]) -> list[str]:
    """The names of the answer templates offered in any of these queues (one
    query): the choices of the bulk action "Reply with template"."""
    return sorted(
        set(
            offered_templates_in(queue_ids, (TemplateType.ANSWER,)).values_list(
                "name", flat=True
            )
        )
    )


def offered_templates_in(
    queue_ids: set[int], types: tuple[str, ...]
) -> QuerySet[Template]:
    return Template.objects.filter(
        queues__in=queue_ids, type__in=types, valid=True, translation_of__isnull=True
    ).distinct()


def find_template(
    queue: Queue, types: tuple[str, ...], *, pk: Any = None, name: str | None = None
) -> Template | None:
    """An offered template, or a valid translation of one, by id or by name."""
    if pk is not None:
        if not str(pk).isdigit():
            return None
        named = Q(pk=int(pk))
    else:
        named = Q(name=name)
    return (
        Template.objects.filter(named, valid=True, type__in=types)
        .filter(
            Q(queues=queue, translation_of__isnull=True)
            | Q(translation_of__queues=queue, translation_of__valid=True)
        )
        .first()
    )


def get_template(name: str, queue: Queue, *, types: tuple[str, ...]) -> Template:
    template = find_template(queue, types, name=name)
    if template is None:
        raise NotFound(f"No template {name!r} for queue {queue.name}.")
    return template


def template_languages(queue: Queue, types: tuple[str, ...]) -> list[str]:
    """The languages the queue's templates of ``types`` are written in (one query)."""
    return sorted(
        set(
            Template.objects.filter(valid=True, type__in=types)
            .filter(
                Q(queues=queue, translation_of__isnull=True)
                | Q(translation_of__queues=queue)
            )
            .exclude(language="")
            .values_list("language", flat=True)
        )
    )


def compose_reply(
    actor: Any,
    ticket: Ticket,
    original: Article | None,
    *,
    text: str = "",
    template: Template | None = None,
    reply_all: bool = False,
) -> Draft:
    """The reply as it is offered to the agent: recipients, subject and full text."""
    context = Context(
        ticket=ticket, agent=actor, customer=ticket.customer, original=original
    )
    head = [salutation_of(ticket.queue, context)]
    middle = []
    if template is not None:
        middle.append(render(template.text, context).strip())
    if text.strip():
        middle.append(text.strip())
    tail = [signature_of(ticket.queue, context)]
    to: list[str] = []
    cc: list[str] = []
    subject = build_subject(ticket.number, ticket.title, prefix="Re: ")
    if original is not None:
        to = _emails(original.reply_to or original.from_addr)
        if reply_all:
            cc = _emails(original.to_addr) + _emails(original.cc_addr)
        # The site's clock, not the writing agent's (docs/web.md, "Languages").
        when = site_time(original.created).strftime("%Y-%m-%d %H:%M")
        quoted = render("{{ original.quote }}", context)
        # The header line QUOTE_HEADER finds.
        tail.append(f"On {when}, {original.from_addr} wrote:\n{quoted}")
        subject = build_subject(
            ticket.number, original.subject or ticket.title, prefix="Re: "
        )
    if ticket.customer is not None and not to:
        to = [ticket.customer.email]
    own = _own_addresses()
    to = [a for a in dict.fromkeys(to) if a not in own]
    cc = [a for a in dict.fromkeys(cc) if a not in own and a not in to]
    attachments = []
    if template is not None:
        from helpline.blobstore import read_blob

        attachments = [
            NewAttachment(a.filename, a.content_type, read_blob(a.blob))
            for a in template.attachments.select_related("blob")
        ]
    body, insert_at = _assemble(head, middle, tail)
    return Draft(
        to=to,
        cc=cc,
        subject=subject,
        body=body,
        in_reply_to=original,
        attachments=attachments,
        insert_at=insert_at,
    )


def salutation_of(queue: Queue, context: Context) -> str:
    if queue.salutation and queue.salutation.valid:
        return render(queue.salutation.text, context).strip()
    return ""


def signature_of(queue: Queue, context: Context) -> str:
    if queue.signature and queue.signature.valid:
        return render(queue.signature.text, context).strip()
    return ""


def template_text(
    actor: Any, ticket: Ticket, original: Article | None, template: Template
) -> str:
    """A template's text alone, rendered for this reply (to insert at the cursor)."""
    context = Context(
        ticket=ticket, agent=actor, customer=ticket.customer, original=original
    )
    return render(template.text, context).strip()


def compose_new_email(
    actor: Any, queue: Queue, *, customer_name: str = "", text: str = ""
) -> Draft:
    """A new email ticket's text as the agent sees and sends it: the queue's
    salutation, ``text`` and the queue's signature (no ticket exists yet)."""
    from types import SimpleNamespace

    customer = SimpleNamespace(name=customer_name.strip(), email="")
    context = Context(agent=actor, customer=customer)
    body, insert_at = _assemble(
        [salutation_of(queue, context)], [text.strip()], [signature_of(queue, context)]
    )
    return Draft(to=[], cc=[], subject="", body=body, insert_at=insert_at)


def do_send_email(
    actor: Any | None,
    ticket: Ticket,
    draft: Draft,
    *,
    sender_type: str = SenderType.AGENT,
    auto_submitted: str = "",
    history_type: HistoryType = HistoryType.EMAIL_SENT,
    bcc: list[str] | None = None,
) -> Article:
    """Store an outgoing email article and queue its exact bytes (ticket row-locked)."""
    if not draft.to:
        raise InvalidInput("An email needs at least one recipient.")
    body = mail_text(draft.body)
    name, address = sender_of(
        ticket.queue, actor if sender_type == SenderType.AGENT else None
    )
    original = draft.in_reply_to
    references = original.references.split() if original and original.references else []
    raw, message_id = build(
        Outgoing(
            from_addr=address,
            from_name=name,
            to=draft.to,
            cc=draft.cc,
            bcc=bcc or [],
            subject=draft.subject,
            body_text=body,
            in_reply_to=original.message_id if original else "",
            references=references,
            attachments=[
                (a.filename, a.content_type, a.content) for a in draft.attachments
            ],
            auto_submitted=auto_submitted,
            names=(
                {ticket.customer.email.lower(): ticket.customer.name}
                if ticket.customer is not None
                else {}
            ),
        )
    )
    article = do_add_article(
        actor,
        ticket,
        NewArticle(
            channel=ArticleChannel.EMAIL,
            sender_type=sender_type,
            visible_to_customer=True,
            from_addr=f'"{name}" <{address}>',
            to_addr=", ".join(draft.to),
            cc_addr=", ".join(draft.cc),
            bcc_addr=", ".join(bcc or []),
            subject=draft.subject,
            body_text=body,
            message_id=message_id,
            in_reply_to=original.message_id if original else "",
            references=" ".join([*references, original.message_id] if original else []),
            raw=raw,
            attachments=draft.attachments,
        ),
        history_type=history_type,
    )
    queue_message(
        raw,
        message_id=message_id,
        envelope_from=address,
        recipients=[*draft.to, *draft.cc, *(bcc or [])],
        article=article,
    )
    return article


def reply(
    actor: Any,
    ticket_id: int,
    *,
    article_id: int | None = None,
    text: str = "",
    template: str | None = None,
    reply_all: bool = False,
    next_state: str | None = None,
    draft: Draft | None = None,
    language: str | None = None,
) -> Article:
    """Answer a ticket by email as ``actor``: the last customer message by default.

    ``draft`` is a reply the agent edited (the web interface); without it the reply is
    composed from the queue's salutation, the template or ``text``, the signature and the
    quoted original.  ``next_state`` (e.g. "closed successful") is set afterwards.
    The template is used in its translation into ``language``, by default the
    language the answered message is written in (``language.detect_language``).
    """
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        claim(actor, ticket)
        if draft is None:
            original = (
                ticket.articles.filter(pk=article_id).first()
                if article_id is not None
                else last_customer_article(ticket)
            )
            if article_id is not None and original is None:
                raise NotFound(
                    f"Article {article_id} is not in ticket {ticket.number}."
                )
            tpl = (
                get_template(template, ticket.queue, types=(TemplateType.ANSWER,))
                if template
                else None
            )
            if tpl is None and not text.strip():
                raise InvalidInput("A reply needs a text or a template.")
            if tpl is not None and tpl.translation_of_id is None:
                # A translation named on purpose stays; a template follows the language.
                if language is None:
                    language = detect_language(original.body_text if original else "")
                tpl = in_language(tpl, language)
            draft = compose_reply(
                actor, ticket, original, text=text, template=tpl, reply_all=reply_all
            )
        article = do_send_email(actor, ticket, draft)
        if next_state:
            state = get_state(next_state)
            if state.is_pending:
                raise InvalidInput("Set a pending state with its time separately.")
            do_set_state(actor, ticket, state)
        return article


def forward(
    actor: Any, ticket_id: int, article_id: int, *, to: list[str], text: str = ""
) -> Article:
    """Forward an article with its attachments to another address."""
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        claim(actor, ticket)
        original = ticket.articles.filter(pk=article_id).first()
        if original is None:
            raise NotFound(f"Article {article_id} is not in ticket {ticket.number}.")
        from helpline.blobstore import read_blob

        body = "\n\n".join(
            p
            for p in [
                text.strip(),
                "---------- Forwarded message ----------\n"
                f"From: {original.from_addr}\nSubject: {original.subject}\n\n"
                f"{original.body_text}",
            ]
            if p
        )
        draft = Draft(
            to=[a.strip().lower() for a in to if a.strip()],
            cc=[],
            subject=build_subject(
                ticket.number, original.subject or ticket.title, prefix="Fwd: "
            ),
            body=body,
            attachments=[
                NewAttachment(
                    a.filename, a.content_type, read_blob(a.blob), a.content_id
                )
                for a in original.attachments.select_related("blob")
            ],
        )
        article = do_send_email(actor, ticket, draft)
        # A forward goes to a third party: hide it from the customer's view.
        Article.objects.filter(pk=article.pk).update(visible_to_customer=False)
        return article


def create_email_ticket(
    actor: Any,
    *,
    queue: Queue,
    to: str,
    subject: str,
    text: str,
    customer_name: str = "",
    as_shown: bool = False,
) -> tuple[Ticket, Article]:
    """Open a ticket by writing to a customer (OTRS's "new email ticket").

    ``as_shown``: ``text`` is the whole mail as the agent saw it (the web form shows
    the queue's salutation and signature in it, ``compose_new_email``); otherwise the
    salutation and signature are added around ``text``."""
    require_in_queue(actor, queue, Permission.CREATE)
    addresses = _emails(to)
    if not addresses:
        raise InvalidInput(f"{to!r} is not an email address.")
    with transaction.atomic():
        ticket, _ = do_create_ticket(
            actor,
            queue=queue,
            title=subject,
            customer_email=addresses[0],
            customer_name=customer_name,
            state="open",
            article=None,
        )
        ticket = (
            Ticket.objects.select_for_update().select_related("queue").get(pk=ticket.pk)
        )
        if as_shown:
            draft = Draft(to=[], cc=[], subject="", body=text)
        else:
            draft = compose_reply(actor, ticket, None, text=text)
        draft.to = addresses
        draft.subject = build_subject(ticket.number, subject)
        article = do_send_email(actor, ticket, draft)
        return ticket, article
