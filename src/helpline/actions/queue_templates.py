"""Templates a queue coordinator may edit: those of the queues of the groups it
manages (``manage``), and only those (docs/administration.md).

A template used by a queue of a group the coordinator does not manage is not its to
change: the other group's coordinator and agents would find it changed.  An
administrator who may change templates edits any.  The placeholders of a text are
checked by the caller (``responses.render.check_text``, above this layer), as the
Django administration's form does; every save is in the administration log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from helpline.actions import admin as admin_actions
from helpline.actions.permission_admin import managed_group_ids
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import Queue, Template

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

SUBJECT_MAX = 255


def is_template_admin(actor: Agent | None) -> bool:
    return bool(
        actor is not None
        and actor.is_active
        and actor.is_staff
        and actor.has_perm("helpline.change_template")
    )


def editable_templates(actor: Agent | None) -> QuerySet[Template]:
    """The templates ``actor`` may edit, by name (one query when listed)."""
    if is_template_admin(actor):
        return Template.objects.order_by("name")
    managed = managed_group_ids(actor)
    if not managed:
        return Template.objects.none()
    through = Template.queues.through.objects.filter(template_id=OuterRef("pk"))
    mine = Queue.objects.filter(group_id__in=managed).values("pk")
    return (
        Template.objects.filter(Exists(through.filter(queue_id__in=mine)))
        .exclude(Exists(through.filter(~Q(queue__group_id__in=managed))))
        .order_by("name")
    )


def get_template_for(actor: Agent | None, template_id: int) -> Template:
    template = editable_templates(actor).filter(pk=template_id).first()
    if template is None:
        if not is_template_admin(actor) and not managed_group_ids(actor):
            raise PermissionDenied(
                "You need to manage a group, or be an administrator, to edit templates."
            )
        raise NotFound("No such template among those you may edit.")
    return template


def save_template_text(
    actor: Agent | None, template_id: int, *, subject: str, text: str
) -> Template:
    """Change a template's subject and text (placeholders checked by the caller)."""
    template = get_template_for(actor, template_id)
    subject = subject.strip()
    if len(subject) > SUBJECT_MAX:
        raise InvalidInput(f"A subject has at most {SUBJECT_MAX} characters.")
    if not text.strip():
        raise InvalidInput("A template needs a text.")
    template.subject = subject
    template.text = text
    saved: Template = admin_actions.save_configuration(
        actor, template, changed=["subject", "text"]
    )
    return saved
