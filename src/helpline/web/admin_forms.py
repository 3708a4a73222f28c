"""Forms of the administration screens (queues, answer texts): they parse and check
input; ``actions.queue_admin`` and ``actions.answer_texts`` decide and save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpline.actions.queue_admin import MAX_UNLOCK_TIMEOUT
from helpline.errors import HelplineError
from helpline.models import (
    AutoResponseType,
    FollowUpOption,
    Group,
    Queue,
    Salutation,
    ServiceLevel,
    Signature,
    SystemAddress,
    TemplateType,
)
from helpline.responses.render import check_text

FOLLOW_UP_CHOICES = [
    (FollowUpOption.POSSIBLE, _("possible (reopen the ticket)")),
    (FollowUpOption.REJECT, _("reject (store, answer with the reject response)")),
    (FollowUpOption.NEW_TICKET, _("new ticket")),
]
RETENTION_ACTIONS = [("delete", _("delete")), ("anonymise", _("anonymise"))]
AUTO_RESPONSE_TYPES = [
    (AutoResponseType.REPLY, _("auto reply (new ticket)")),
    (AutoResponseType.REJECT, _("auto reject (follow-up to a closed ticket)")),
    (AutoResponseType.FOLLOW_UP, _("auto follow up")),
    (AutoResponseType.REPLY_NEW_TICKET, _("auto reply/new ticket (old one closed)")),
]
TEMPLATE_TYPES = [
    (TemplateType.ANSWER, _("answer")),
    (TemplateType.CREATE, _("create")),
    (TemplateType.FORWARD, _("forward")),
    (TemplateType.NOTE, _("note")),
    (TemplateType.PHONE, _("phone call")),
    (TemplateType.EMAIL, _("new email")),
]


class QueueForm(forms.Form):
    """Everything about a queue; its full name is the parent's name, ``::`` and the
    name given here."""

    short_name = forms.CharField(label=_("Name"), max_length=200)
    parent = forms.ModelChoiceField(
        queryset=Queue.objects.none(),
        required=False,
        label=_("Parent queue"),
        empty_label=_("(none: a top-level queue)"),
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"),
        label=_("Group"),
        help_text=_("Who holds permissions on this group reaches the queue."),
    )
    system_address = forms.ModelChoiceField(
        queryset=SystemAddress.objects.order_by("email"),
        required=False,
        label=_("System address"),
        help_text=_("Sender of outgoing mail from this queue."),
    )
    salutation = forms.ModelChoiceField(
        queryset=Salutation.objects.order_by("name"),
        required=False,
        label=_("Salutation"),
    )
    signature = forms.ModelChoiceField(
        queryset=Signature.objects.order_by("name"),
        required=False,
        label=_("Signature"),
    )
    follow_up = forms.ChoiceField(choices=FOLLOW_UP_CHOICES, label=_("Follow-up"))
    follow_up_lock = forms.BooleanField(
        required=False,
        label=_("Follow-up lock"),
        help_text=_("A follow-up that reopens a closed ticket locks it to its owner."),
    )
    trust_subject_number = forms.BooleanField(
        required=False,
        label=_("Trust a ticket number in the subject from a new sender"),
    )
    unlock_timeout = forms.IntegerField(
        min_value=0,
        max_value=MAX_UNLOCK_TIMEOUT,
        initial=0,
        label=_("Unlock timeout (minutes)"),
        help_text=_("A locked ticket is unlocked after this long; 0: never."),
    )
    service_level = forms.ModelChoiceField(
        queryset=ServiceLevel.objects.order_by("name"),
        required=False,
        label=_("Service level"),
    )
    junk_queue = forms.ModelChoiceField(
        queryset=Queue.objects.order_by("name"),
        required=False,
        label=_("Junk queue"),
        help_text=_("Where 'Spam' moves this queue's tickets; empty: the default."),
    )
    public_backlog = forms.BooleanField(
        required=False, label=_("Show on the public backlog page")
    )
    retention_days = forms.IntegerField(
        required=False,
        min_value=1,
        label=_("Retention (days)"),
        help_text=_("Closed tickets are removed this long after closing; empty: kept."),
    )
    retention_action = forms.ChoiceField(
        choices=RETENTION_ACTIONS, initial="delete", label=_("Retention action")
    )
    junk = forms.BooleanField(required=False, label=_("Holds junk (spam)"))
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Comment")
    )
    valid = forms.BooleanField(required=False, initial=True, label=_("Switched on"))

    def __init__(
        self, *args: Any, queue: Queue | None, may_set_retention: bool, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        parents = Queue.objects.order_by("name")
        if queue is not None and queue.pk is not None:
            parents = parents.exclude(pk=queue.pk).exclude(
                name__startswith=f"{queue.name}::"
            )
            self.fields["junk_queue"].queryset = Queue.objects.exclude(  # type: ignore[attr-defined]
                pk=queue.pk
            ).order_by("name")
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]
        if not may_set_retention:
            for name in ("retention_days", "retention_action", "junk"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _(
                    "Set by holders of the right to handle personal data."
                )

    def full_name(self) -> str:
        parent = self.cleaned_data.get("parent")
        short = self.cleaned_data["short_name"].strip()
        return f"{parent.name}::{short}" if parent is not None else short

    def values(self) -> dict[str, Any]:
        """The queue's fields as the action takes them (disabled ones left out)."""
        data = self.cleaned_data
        skip = {"short_name", "parent", "service_level", "give_me_rw"}
        values = {
            name: data[name]
            for name in self.fields
            if name not in skip and not self.fields[name].disabled
        }
        values["name"] = self.full_name()
        values["comment"] = values.get("comment") or ""
        return values


class NewQueueForm(QueueForm):
    give_me_rw = forms.BooleanField(
        required=False,
        initial=True,
        label=_("Give me rw on the group if I do not read its queues yet"),
        help_text=_(
            "Otherwise a queue in such a group is refused: you would not see it."
        ),
    )


def queue_initial(queue: Queue) -> dict[str, Any]:
    parent = (
        Queue.objects.filter(name=queue.parent_name).first()
        if queue.parent_name
        else None
    )
    initial: dict[str, Any] = {
        "short_name": queue.name.rpartition("::")[2],
        "parent": parent,
        "service_level": queue.service_level,
    }
    for name in (
        "group",
        "system_address",
        "salutation",
        "signature",
        "follow_up",
        "follow_up_lock",
        "trust_subject_number",
        "unlock_timeout",
        "junk_queue",
        "public_backlog",
        "retention_days",
        "retention_action",
        "junk",
        "comment",
        "valid",
    ):
        initial[name] = getattr(queue, name)
    return initial


class PlaceholderForm(forms.Form):
    """Refuses texts with unknown placeholders, as the Django administration does."""

    checked = ("subject", "text")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.checked:
            value = data.get(name)
            if isinstance(value, str):
                try:
                    check_text(value)
                except HelplineError as exc:
                    self.add_error(name, exc.message)
        return data


class TextForm(PlaceholderForm):
    """A salutation or a signature."""

    name = forms.CharField(label=_("Name"), max_length=200)
    text = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}), strip=False
    )
    valid = forms.BooleanField(required=False, initial=True, label=_("Switched on"))


class AutoResponseForm(PlaceholderForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    type = forms.ChoiceField(choices=AUTO_RESPONSE_TYPES, label=_("Kind"))
    subject = forms.CharField(label=_("Subject"), max_length=255)
    text = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 10}), strip=False
    )
    queues = forms.ModelMultipleChoiceField(
        queryset=Queue.objects.order_by("name"),
        required=False,
        label=_("Queues"),
        widget=forms.CheckboxSelectMultiple,
    )
    valid = forms.BooleanField(required=False, initial=True, label=_("Switched on"))


class TemplateForm(PlaceholderForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    type = forms.ChoiceField(choices=TEMPLATE_TYPES, label=_("Kind"))
    subject = forms.CharField(label=_("Subject"), max_length=255, required=False)
    text = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 14}), strip=False
    )
    queues = forms.ModelMultipleChoiceField(
        queryset=Queue.objects.order_by("name"),
        required=False,
        label=_("Queues"),
        widget=forms.CheckboxSelectMultiple,
    )
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Comment")
    )
    valid = forms.BooleanField(required=False, initial=True, label=_("Switched on"))
