"""Salutations, signatures, auto-responses and templates as the administration screens
create and change them (docs/administration.md "Answer texts").

Salutations, signatures and auto-responses are for administrators only
(``permission_admin.is_permission_admin``).  A template is created, renamed, switched
off or given queues by an administrator who may change templates
(``queue_templates.is_template_admin``); a queue coordinator keeps editing only the
subject and text of its queues' templates (``queue_templates.save_template_text``).
Nothing is deleted here: a text no longer wanted is switched off (``valid``), so the
tickets and queues that used it keep their history.  The placeholders of a text are
checked by the caller (``responses.render.check_text``, a layer above), as for the
coordinators' template page.  Every change is in the administration log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction

from helpline.actions import admin as admin_actions
from helpline.actions import permission_admin as pa
from helpline.actions import queue_templates as qt
from helpline.blobstore import store_blob
from helpline.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from helpline.models import (
    AutoResponse,
    AutoResponseType,
    Queue,
    Salutation,
    Signature,
    Template,
    TemplateAttachment,
    TemplateType,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

NAME_MAX = 200
SUBJECT_MAX = 255
TextModel = type[Salutation] | type[Signature] | type[AutoResponse]


def require_text_admin(actor: Agent | None) -> None:
    pa.require_permission_admin(actor)


def require_template_admin(actor: Agent | None) -> None:
    if not qt.is_template_admin(actor):
        raise PermissionDenied(
            "Only administrators who may change templates create them, switch them "
            "off or choose their queues."
        )


def list_texts(actor: Agent | None, model: TextModel, *, query: str = "") -> list[Any]:
    """Every salutation, signature or auto-response by name (two queries with the
    auto-responses' queues)."""
    require_text_admin(actor)
    found: models.QuerySet[Any] = model.objects.order_by("name")
    if query:
        found = found.filter(name__icontains=query.strip())
    if model is AutoResponse:
        found = found.prefetch_related("queues")
    return list(found)


def get_text_for(actor: Agent | None, model: TextModel, pk: int) -> Any:
    require_text_admin(actor)
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"No such {model._meta.verbose_name}.")
    return obj


def _check_common(
    model: type[models.Model], pk: int | None, name: str, text: str
) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("A name is needed.")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"A name has at most {NAME_MAX} characters.")
    others = model._default_manager.exclude(pk=pk) if pk else model._default_manager
    if others.filter(name=name).exists():
        raise Conflict(f"The name {name!r} is taken already.")
    if not text.strip():
        raise InvalidInput("A text is needed.")
    return name


def _check_subject(subject: str, *, required: bool) -> str:
    subject = subject.strip()
    if required and not subject:
        raise InvalidInput("A subject is needed.")
    if len(subject) > SUBJECT_MAX:
        raise InvalidInput(f"A subject has at most {SUBJECT_MAX} characters.")
    return subject


def _save(
    actor: Agent | None,
    obj: models.Model,
    values: dict[str, Any],
    queues: Iterable[Queue] | None,
) -> None:
    changed = [
        name
        for name, value in values.items()
        if obj.pk is None or getattr(obj, name) != value
    ]
    for name, value in values.items():
        setattr(obj, name, value)
    with transaction.atomic():
        if obj.pk is None or changed:
            admin_actions.save_configuration(actor, obj, changed=changed)
        if queues is not None:
            admin_actions.save_relations(actor, obj, {"queues": queues})


def save_text(
    actor: Agent | None,
    model: TextModel,
    pk: int | None,
    *,
    name: str,
    text: str,
    valid: bool = True,
    subject: str = "",
    type: str = "",  # noqa: A002  (the model's field)
    queues: Iterable[Queue] | None = None,
) -> Any:
    """Create (``pk`` None) or change a salutation, signature or auto-response; an
    auto-response also has a subject, a type and queues."""
    require_text_admin(actor)
    obj: Salutation | Signature | AutoResponse = (
        get_text_for(actor, model, pk) if pk is not None else model()
    )
    values: dict[str, Any] = {
        "name": _check_common(model, pk, name, text),
        "text": text,
        "valid": valid,
    }
    if model is AutoResponse:
        if type not in AutoResponseType.values:
            raise InvalidInput("Choose the kind of auto-response.")
        values["type"] = type
        values["subject"] = _check_subject(subject, required=True)
    else:
        queues = None
    _save(actor, obj, values, queues)
    return obj


def save_template(
    actor: Agent | None,
    pk: int | None,
    *,
    name: str,
    type: str,  # noqa: A002  (the model's field)
    subject: str,
    text: str,
    valid: bool,
    queues: Iterable[Queue],
    comment: str = "",
) -> Template:
    """Create (``pk`` None) or change a template with everything about it: name,
    kind, subject, text, queues, whether it is switched on."""
    require_template_admin(actor)
    template = qt.get_template_for(actor, pk) if pk is not None else Template()
    if type not in TemplateType.values:
        raise InvalidInput("Choose the kind of template.")
    values: dict[str, Any] = {
        "name": _check_common(Template, pk, name, text),
        "type": type,
        "subject": _check_subject(subject, required=False),
        "text": text,
        "valid": valid,
        "comment": comment,
    }
    _save(actor, template, values, list(queues))
    return template


def add_template_attachment(
    actor: Agent | None,
    template_id: int,
    *,
    filename: str,
    content_type: str,
    content: bytes,
) -> TemplateAttachment:
    """Attach a file to a template: it goes with every use of the template.  At most
    ``HELPLINE_MAX_MESSAGE_BYTES`` (a larger one could never be sent)."""
    require_template_admin(actor)
    template = qt.get_template_for(actor, template_id)
    filename = filename.strip().replace("/", "_").replace("\\", "_")
    if not filename:
        raise InvalidInput("Choose a file.")
    if len(filename) > 255:
        raise InvalidInput("A file name has at most 255 characters.")
    limit = settings.HELPLINE_MAX_MESSAGE_BYTES
    if len(content) > limit:
        raise InvalidInput(
            f"The file is larger than the {limit} bytes a mail may carry."
        )
    with transaction.atomic():
        attachment = TemplateAttachment.objects.create(
            template=template,
            blob=store_blob(content),
            filename=filename,
            content_type=(content_type or "application/octet-stream")[:255],
        )
        admin_actions.record(
            actor, "changed", template, after={"attachment added": filename}
        )
    return attachment


def remove_template_attachment(
    actor: Agent | None, template_id: int, attachment_id: int
) -> None:
    """Take a file from a template (the template's later uses go without it)."""
    require_template_admin(actor)
    template = qt.get_template_for(actor, template_id)
    attachment = template.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("No such attachment of this template.")
    with transaction.atomic():
        admin_actions.record(
            actor,
            "changed",
            template,
            before={"attachment removed": attachment.filename},
        )
        attachment.delete()
