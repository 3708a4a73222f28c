"""Answer texts: salutations, signatures, templates (with their queues and
attachments) and auto-responses (with their queues).

HTML texts become plain text (line breaks and links kept).  Znuny's placeholders
``<OTRS_...>`` that Helpline has an equivalent for become Helpline's ``{{ ... }}``
(``helpline.responses.render``); the others stay as they are, verbatim, and are
counted in the report ("placeholder kept").  Auto-responses of the type "auto remove"
and templates of the type ProcessDialog have no Helpline counterpart: skipped.
"""

from __future__ import annotations

import re

from django.db import models, transaction

from helpline.blobstore import store_blob
from helpline.errors import InvalidInput
from helpline.importers.znuny.org_sync import Wanted, sync_links, sync_named, valid_ids
from helpline.importers.znuny.runner import Context
from helpline.mail.htmltext import html_to_text
from helpline.models import (
    AutoResponse,
    AutoResponseType,
    Salutation,
    Signature,
    Template,
    TemplateAttachment,
    TemplateType,
)
from helpline.responses.render import check_text

# Znuny's placeholder -> Helpline's (Kernel/System/TemplateGenerator.pm names them).
PLACEHOLDERS = {
    "OTRS_TICKET_TicketNumber": "ticket.number",
    "OTRS_TICKET_Title": "ticket.title",
    "OTRS_TICKET_Queue": "ticket.queue",
    "OTRS_TICKET_State": "ticket.state",
    "OTRS_TICKET_Priority": "ticket.priority",
    "OTRS_TICKET_Created": "ticket.created",
    "OTRS_OWNER_UserFullname": "ticket.owner",
    "OTRS_TICKET_OWNER_UserFullname": "ticket.owner",
    "OTRS_RESPONSIBLE_UserFullname": "ticket.responsible",
    "OTRS_TICKET_RESPONSIBLE_UserFullname": "ticket.responsible",
    "OTRS_CUSTOMER_REALNAME": "customer.name",
    "OTRS_CUSTOMER_DATA_UserFullname": "customer.name",
    "OTRS_CUSTOMER_DATA_UserEmail": "customer.email",
    "OTRS_CURRENT_UserFullname": "agent.name",
    "OTRS_CURRENT_UserFirstname": "agent.first_name",
    "OTRS_CURRENT_UserLastname": "agent.last_name",
    "OTRS_CURRENT_UserEmail": "agent.email",
    "OTRS_Agent_UserFullname": "agent.name",
    "OTRS_Agent_UserFirstname": "agent.first_name",
    "OTRS_Agent_UserLastname": "agent.last_name",
    "OTRS_Agent_UserEmail": "agent.email",
    "OTRS_CUSTOMER_SUBJECT": "original.subject",
    "OTRS_CUSTOMER_Subject": "original.subject",
    "OTRS_CUSTOMER_From": "original.from",
    "OTRS_CUSTOMER_EMAIL": "original.quote",
}
ZNUNY_PLACEHOLDER = re.compile(r"<(OTRS_[A-Za-z0-9_]+)(?:\[(\d{1,4})\])?>")
ZNUNY_PLACEHOLDER_HTML = re.compile(
    r"(?:<|&lt;)(OTRS_[A-Za-z0-9_]+)(?:\[(\d{1,4})\])?(?:>|&gt;)"
)

TEMPLATE_TYPES = {
    "Answer": TemplateType.ANSWER,
    "Create": TemplateType.CREATE,
    "Forward": TemplateType.FORWARD,
    "Note": TemplateType.NOTE,
    "PhoneCall": TemplateType.PHONE,
    "Email": TemplateType.EMAIL,
}
AUTO_RESPONSE_TYPES = {
    "auto reply": AutoResponseType.REPLY,
    "auto reject": AutoResponseType.REJECT,
    "auto follow up": AutoResponseType.FOLLOW_UP,
    "auto reply/new ticket": AutoResponseType.REPLY_NEW_TICKET,
}


def convert(
    ctx: Context, kind: str, source_id: object, text: str, content_type: str | None
) -> str:
    """A Znuny text as Helpline keeps it: plain, with Helpline's placeholders."""
    html = (content_type or "").lower().startswith("text/html")
    pattern = ZNUNY_PLACEHOLDER_HTML if html else ZNUNY_PLACEHOLDER

    def replace(m: re.Match[str]) -> str:
        helpline = PLACEHOLDERS.get(m.group(1))
        if helpline is None:
            ctx.report.problem(kind, source_id, f"placeholder kept: <{m.group(1)}>")
            kept = f"<{m.group(1)}{f'[{m.group(2)}]' if m.group(2) else ''}>"
            # In HTML, escaped: the conversion to text must not take it for a tag.
            return kept.replace("<", "&lt;").replace(">", "&gt;") if html else kept
        return "{{ " + helpline + (f":{m.group(2)}" if m.group(2) else "") + " }}"

    text = pattern.sub(replace, text)
    if html:
        text = html_to_text(text)
    text = text.replace("\r\n", "\n")
    try:
        check_text(text)
    except InvalidInput:
        # "{{ ... }}" written in Znuny: Helpline will refuse to use the text until
        # an administrator edits it.
        ctx.report.problem(kind, source_id, "text has {{ }} that is no placeholder")
    return text


def _texts(ctx: Context, kind: str, table: str, model: type[models.Model]) -> None:
    valid = valid_ids(ctx)
    sync_named(
        ctx,
        kind,
        model,
        (
            Wanted(
                r["id"],
                ctx.source.text(r["name"]),
                {
                    "text": convert(
                        ctx,
                        kind,
                        r["id"],
                        ctx.source.text(r["text"]),
                        r["content_type"],
                    ),
                    "valid": r["valid_id"] in valid,
                },
            )
            for r in ctx.source.rows(
                f"SELECT id, name, text, content_type, valid_id FROM {table} ORDER BY id"  # noqa: S608
            )
        ),
    )


def import_salutations(ctx: Context) -> None:
    _texts(ctx, "salutation", "salutation", Salutation)


def import_signatures(ctx: Context) -> None:
    _texts(ctx, "signature", "signature", Signature)


def _queue_targets(ctx: Context) -> dict[str, int]:
    return {
        k: e.target_id
        for k, e in ctx.mapping.kind("queue").items()
        if e.target_id is not None
    }


def import_templates(ctx: Context) -> None:
    kind = "template"
    valid = valid_ids(ctx)
    wanted = []
    for r in ctx.source.rows(
        "SELECT id, name, text, content_type, template_type, comments, valid_id "
        "FROM standard_template ORDER BY id"
    ):
        ttype = TEMPLATE_TYPES.get(ctx.source.text(r["template_type"]))
        if ttype is None:
            ctx.report[kind].source += 1
            ctx.report.skip(kind, r["id"], f"template type {r['template_type']}")
            continue
        wanted.append(
            Wanted(
                r["id"],
                ctx.source.text(r["name"]),
                {
                    "type": ttype.value,
                    "text": convert(
                        ctx,
                        kind,
                        r["id"],
                        ctx.source.text(r["text"]),
                        r["content_type"],
                    ),
                    "comment": ctx.source.text(r["comments"]),
                    "valid": r["valid_id"] in valid,
                },
            )
        )
    synced = sync_named(ctx, kind, Template, wanted)
    templates = {k: obj.pk for k, obj in synced.objects.items()}
    queues = _queue_targets(ctx)
    links = {
        (templates[str(r["standard_template_id"])], queues[str(r["queue_id"])])
        for r in ctx.source.rows(
            "SELECT queue_id, standard_template_id FROM queue_standard_template"
        )
        if str(r["standard_template_id"]) in templates and str(r["queue_id"]) in queues
    }
    with transaction.atomic():
        sync_links(
            Template.queues.through,
            "template",
            "queue",
            links,
            scope=models.Q(template_id__in=templates.values()),
        )
        _template_attachments(ctx, templates)


def _template_attachments(ctx: Context, templates: dict[str, int]) -> None:
    """Each template's attachments, byte-identical (Znuny's standard attachments)."""
    kind = "template_attachment"
    rows = ctx.source.all(
        "SELECT sta.standard_template_id, sa.id, sa.filename, sa.content_type, "
        "sa.content FROM standard_template_attachment sta "
        "JOIN standard_attachment sa ON sa.id = sta.standard_attachment_id "
        "ORDER BY sta.id"
    )
    ctx.report[kind].source += len(rows)
    have = {
        (a.template_id, a.filename, a.content_type, a.blob.sha256): a.pk
        for a in TemplateAttachment.objects.filter(
            template_id__in=templates.values()
        ).select_related("blob")
    }
    keep: set[int] = set()
    new = []
    for r in rows:
        template = templates.get(str(r["standard_template_id"]))
        if template is None:
            ctx.report.skip(kind, r["id"], "its template was not imported")
            continue
        blob = store_blob(ctx.source.blob(r["content"]))
        key = (
            template,
            ctx.source.text(r["filename"])[:255],
            ctx.source.text(r["content_type"])[:255],
            blob.sha256,
        )
        if key in have:
            keep.add(have[key])
            ctx.report[kind].unchanged += 1
        else:
            new.append(
                TemplateAttachment(
                    template_id=template,
                    blob=blob,
                    filename=key[1],
                    content_type=key[2],
                )
            )
    TemplateAttachment.objects.bulk_create(new)
    ctx.report[kind].imported += len(new)
    stale = [pk for pk in have.values() if pk not in keep]
    TemplateAttachment.objects.filter(pk__in=stale).delete()
    ctx.report[kind].updated += len(stale)


def import_auto_responses(ctx: Context) -> None:
    kind = "auto_response"
    valid = valid_ids(ctx)
    wanted = []
    for r in ctx.source.rows(
        "SELECT ar.id, ar.name, ar.text0, ar.text1, ar.content_type, ar.valid_id, "
        "art.name AS type_name FROM auto_response ar "
        "LEFT JOIN auto_response_type art ON art.id = ar.type_id ORDER BY ar.id"
    ):
        atype = AUTO_RESPONSE_TYPES.get(ctx.source.text(r["type_name"]))
        if atype is None:
            ctx.report[kind].source += 1
            ctx.report.skip(kind, r["id"], f"auto-response type {r['type_name']!r}")
            continue
        subject = convert(ctx, kind, r["id"], ctx.source.text(r["text1"]), None)
        wanted.append(
            Wanted(
                r["id"],
                ctx.source.text(r["name"]),
                {
                    "type": atype.value,
                    "subject": subject.replace("\n", " ")[:255],
                    "text": convert(
                        ctx,
                        kind,
                        r["id"],
                        ctx.source.text(r["text0"]),
                        r["content_type"],
                    ),
                    "valid": r["valid_id"] in valid,
                },
            )
        )
    synced = sync_named(ctx, kind, AutoResponse, wanted)
    responses = {k: obj.pk for k, obj in synced.objects.items()}
    queues = _queue_targets(ctx)
    links = {
        (responses[str(r["auto_response_id"])], queues[str(r["queue_id"])])
        for r in ctx.source.rows(
            "SELECT queue_id, auto_response_id FROM queue_auto_response"
        )
        if str(r["auto_response_id"]) in responses and str(r["queue_id"]) in queues
    }
    with transaction.atomic():
        sync_links(
            AutoResponse.queues.through,
            "autoresponse",
            "queue",
            links,
            scope=models.Q(autoresponse_id__in=responses.values()),
        )
