"""Forms of the agent interface: they parse and validate input, the actions decide."""

from __future__ import annotations

from email.utils import getaddresses
from functools import cache
from typing import Any, cast
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q, QuerySet
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from helpline.actions.events import Event
from helpline.actions.out_of_office import with_absence
from helpline.models import (
    LinkType,
    Permission,
    Priority,
    Queue,
    SenderType,
    StateType,
    TicketState,
)
from helpline.web.labels import NOTIFICATION_NAMES

PENDING_FORMAT = "%Y-%m-%dT%H:%M"


def parse_addresses(value: str) -> list[str]:
    """Addresses from a To/Cc field ("a@x, B <b@y>; c@z"), validated, in order."""
    found = []
    for _name, address in getaddresses([value.replace(";", ",")]):
        address = address.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError(
                _("%(address)s is not an email address."),
                params={"address": address},
            ) from exc
        found.append(address.lower())
    if value.strip() and not found:
        raise ValidationError(
            _("No email address found in %(value)s."), params={"value": value}
        )
    return list(dict.fromkeys(found))


def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def model_field(form: forms.Form, name: str) -> forms.ModelChoiceField[Any]:
    return cast("forms.ModelChoiceField[Any]", form.fields[name])


class AddressField(forms.CharField):
    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        return parse_addresses(text or "")


class PendingField(forms.DateTimeField):
    widget = forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format=PENDING_FORMAT
    )

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Pending until"))
        kwargs.setdefault("help_text", _("Needed for pending states; your local time."))
        super().__init__(input_formats=[PENDING_FORMAT, "%Y-%m-%d %H:%M"], **kwargs)


def settable_states(*types: str) -> QuerySet[TicketState]:
    qs = TicketState.objects.filter(valid=True).exclude(
        type__in=[StateType.MERGED, StateType.REMOVED]
    )
    return qs.filter(type__in=types) if types else qs


def state_choices(states: QuerySet[TicketState]) -> list[tuple[str, Any]]:
    return [(s.name, _(s.name)) for s in states.order_by("name")]


def agents_with(queue: Queue, perms: list[str]) -> QuerySet[Any]:
    """Active agents holding one of ``perms`` on the queue's group (directly or by role)."""
    direct = Q(
        helpline_grants__group=queue.group, helpline_grants__permission__in=perms
    )
    by_role = Q(
        helpline_roles__valid=True,
        helpline_roles__grants__group=queue.group,
        helpline_roles__grants__permission__in=perms,
    )
    return with_absence(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(direct | by_role)
        .distinct()
        .order_by("username")
    )


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        label = f"{full} ({obj.username})" if full else obj.username
        away = getattr(obj, "away_until", None)
        if away is not None:
            # Out of office (actions.out_of_office): colleagues see it here.
            until = date_format(localtime(away), "SHORT_DATETIME_FORMAT")
            label += " — " + str(_("out of office until %(date)s") % {"date": until})
        return label


class StateMixin:
    """Pending states need a time; other states take none."""

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()  # type: ignore[misc]
        name = data.get("state") or data.get("next_state")
        state = TicketState.objects.filter(name=name).first() if name else None
        if state is not None and state.is_pending:
            if not data.get("pending_until"):
                self.add_error(  # type: ignore[attr-defined]
                    "pending_until", _("A pending state needs a time.")
                )
        else:
            data["pending_until"] = None
        data["state_is_pending"] = bool(state and state.is_pending)
        return data


class ReplyForm(StateMixin, forms.Form):
    to = AddressField(label=_("To"))
    cc = AddressField(label=_("Cc"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=998)
    body = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 18}), strip=False
    )
    next_state = forms.ChoiceField(label=_("Next state"))
    pending_until = PendingField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = state_choices(settable_states().exclude(type=StateType.NEW))
        choice_field(self, "next_state").choices = choices
        default = getattr(settings, "HELPLINE_REPLY_NEXT_STATE", "closed successful")
        if not self.is_bound and default in dict(choices):
            self.initial.setdefault("next_state", default)


class ForwardForm(forms.Form):
    to = AddressField(label=_("To"))
    text = forms.CharField(
        label=_("Text before the forwarded message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class NoteForm(StateMixin, forms.Form):
    """A note, and (for an agent who may change the ticket) its next state with it."""

    subject = forms.CharField(label=_("Subject"), max_length=998, required=False)
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 8}))
    next_state = forms.ChoiceField(label=_("Next state"), required=False)
    pending_until = PendingField()

    def __init__(self, *args: Any, with_state: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_state:
            del self.fields["next_state"]
            del self.fields["pending_until"]
            return
        choice_field(self, "next_state").choices = [
            ("", _("(unchanged)"))
        ] + state_choices(settable_states().exclude(type=StateType.NEW))


class PhoneForm(forms.Form):
    direction = forms.ChoiceField(
        label=_("Call"),
        choices=[
            (SenderType.CUSTOMER, _("The customer called")),
            (SenderType.AGENT, _("I called the customer")),
        ],
    )
    subject = forms.CharField(label=_("Subject"), max_length=998, required=False)
    text = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 8}))


class QueueChoiceForm(forms.Form):
    """Base for forms that pick a queue among those the agent holds ``need`` in."""

    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.none())

    def __init__(self, *args: Any, queues: QuerySet[Queue], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_field(self, "queue").queryset = queues.order_by("name")


class NewEmailTicketForm(QueueChoiceForm):
    to = AddressField(label=_("To"))
    customer_name = forms.CharField(
        label=_("Customer name"), max_length=200, required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=255)
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 12}),
        strip=False,
        help_text=_(
            "Sent exactly as shown, with the queue's salutation and signature; "
            "“Show salutation and signature” fills them in for the queue and name."
        ),
    )
    # Which queue and customer name the salutation and signature in ``text`` are for.
    shown_queue = forms.CharField(required=False, widget=forms.HiddenInput)
    shown_name = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)


class NewPhoneTicketForm(QueueChoiceForm):
    customer_email = forms.EmailField(label=_("Customer email"), required=False)
    customer_name = forms.CharField(
        label=_("Customer name"), max_length=200, required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=255)
    text = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 10}))
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        coerce=int,
        choices=[(p.value, _(p.label)) for p in Priority],
        initial=Priority.NORMAL,
    )


TAKE_HELP = _("Moving alone leaves the owner as it is.")


class MoveForm(QueueChoiceForm):
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    take = forms.BooleanField(
        label=_("Take it: I become the owner"), required=False, help_text=TAKE_HELP
    )


class OwnerForm(forms.Form):
    owner = AgentChoiceField(label=_("New owner"), queryset=None)

    def __init__(self, *args: Any, queue: Queue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_field(self, "owner").queryset = agents_with(
            queue, [Permission.OWNER, Permission.RW]
        )


class ResponsibleForm(forms.Form):
    responsible = AgentChoiceField(
        label=_("Responsible"),
        queryset=None,
        required=False,
        empty_label=_("nobody"),
    )

    def __init__(self, *args: Any, queue: Queue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_field(self, "responsible").queryset = agents_with(
            queue, [Permission.RO, Permission.RW]
        )


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        coerce=int,
        choices=[(p.value, _(p.label)) for p in Priority],
    )


class StateForm(StateMixin, forms.Form):
    state = forms.ChoiceField(label=_("State"))
    pending_until = PendingField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "state").choices = state_choices(
            settable_states(*StateType.open_types())
        )


class CloseForm(forms.Form):
    state = forms.ChoiceField(label=_("State"))
    note = forms.CharField(
        label=_("Note (required: why is it closed?)"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "state").choices = state_choices(
            settable_states(StateType.CLOSED)
        )


class MergeForm(forms.Form):
    target = forms.CharField(
        label=_("Merge into ticket number"),
        max_length=40,
        help_text=_("This ticket's articles move to that ticket; this one is closed."),
    )


class SplitForm(QueueChoiceForm):
    title = forms.CharField(label=_("Title of the new ticket"), max_length=255)


class LinkForm(forms.Form):
    other = forms.CharField(label=_("Other ticket number"), max_length=40)
    relation = forms.ChoiceField(
        label=_("Relation"),
        choices=[
            ("normal", _("linked with")),
            ("parent", _("this ticket is the parent of")),
            ("child", _("this ticket is a child of")),
        ],
    )

    def link_type(self) -> str:
        normal = self.cleaned_data["relation"] == "normal"
        return LinkType.NORMAL if normal else LinkType.PARENT_CHILD


class LanguageSelect(forms.Select):
    """Each language is named in itself (settings.LANGUAGES) and marked so: its
    option carries ``lang`` and ``dir``, for screen readers and the right script."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        code = str(option["value"])
        if code:
            bidi = get_language_info(code)["bidi"]
            option["attrs"].update({"lang": code, "dir": "rtl" if bidi else "ltr"})
        return option


@cache
def time_zone_names() -> list[str]:
    """The IANA time zone names this machine knows (read once: a directory walk)."""
    return sorted(available_timezones())


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), widget=LanguageSelect)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("Times on the pages and in the mails to you are shown in it."),
    )
    article_order = forms.ChoiceField(
        label=_("Articles in the zoom"),
        choices=[("newest", _("newest first")), ("oldest", _("oldest first"))],
    )
    followed_queues = forms.ModelMultipleChoiceField(
        label=_("Queues I follow"),
        queryset=Queue.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Shown under My queues; new tickets there are notified to you."),
    )
    notifications = forms.MultipleChoiceField(
        label=_("Notify me by email of"),
        choices=[(e.value, _(NOTIFICATION_NAMES[e.value])) for e in Event],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, queues: QuerySet[Queue], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "language").choices = [
            (code, name) for code, name in settings.LANGUAGES
        ]
        site = _("The site's time zone (%(zone)s)") % {"zone": settings.TIME_ZONE}
        choice_field(self, "time_zone").choices = [("", site)] + [
            (name, name) for name in time_zone_names()
        ]
        model_field(self, "followed_queues").queryset = queues.order_by("name")


BULK_ACTIONS = [
    ("lock", _("Lock")),
    ("unlock", _("Unlock")),
    ("move", _("Move to queue")),
    ("state", _("Set state")),
    ("priority", _("Set priority")),
    ("owner", _("Set owner")),
    ("merge", _("Merge into one ticket")),
    ("close", _("Close with a note")),
    ("reply", _("Reply with template: one reply to each ticket's customer")),
    ("spam", _("Spam: to the junk queue, learned as spam")),
    ("not_spam", _("Not spam: back from the junk queue, learned as ham")),
]


class BulkForm(StateMixin, forms.Form):
    action = forms.ChoiceField(
        label=_("Action"), choices=BULK_ACTIONS, widget=forms.RadioSelect
    )
    queue = forms.ModelChoiceField(
        label=_("Queue"), queryset=Queue.objects.none(), required=False
    )
    take = forms.BooleanField(
        label=_("Take them: I become the owner"), required=False, help_text=TAKE_HELP
    )
    state = forms.ChoiceField(label=_("State"), required=False)
    pending_until = PendingField()
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        coerce=int,
        choices=[(p.value, _(p.label)) for p in Priority],
        required=False,
        empty_value=None,
    )
    owner = forms.CharField(label=_("Owner (login)"), max_length=150, required=False)
    target = forms.CharField(
        label=_("Merge into ticket number"),
        max_length=40,
        required=False,
        help_text=_("One of the selected tickets, or any other you may change."),
    )
    close_state = forms.ChoiceField(label=_("Closed state"), required=False)
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    template = forms.ChoiceField(
        label=_("Answer template"),
        required=False,
        help_text=_(
            "Rendered for each ticket's own customer and ticket; a ticket whose "
            "queue does not offer it is left alone and reported."
        ),
    )

    REQUIRED = {
        "move": "queue",
        "state": "state",
        "priority": "priority",
        "owner": "owner",
        "merge": "target",
        "close": "note",
        "reply": "template",
    }

    def __init__(
        self,
        *args: Any,
        queues: QuerySet[Queue],
        templates: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        model_field(self, "queue").queryset = queues.order_by("name")
        choice_field(self, "template").choices = [("", "—")] + [
            (name, name) for name in templates or []
        ]
        choice_field(self, "state").choices = [("", "—")] + state_choices(
            settable_states(*StateType.open_types())
        )
        choice_field(self, "close_state").choices = state_choices(
            settable_states(StateType.CLOSED)
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        needed = self.REQUIRED.get(data.get("action", ""))
        if needed and data.get(needed) in (None, ""):
            self.add_error(needed, _("This action needs this field."))
        return data


class AdvancedSearchForm(forms.Form):
    words = forms.CharField(label=_("Words"), required=False)
    queue = forms.CharField(label=_("Queue"), required=False)
    state = forms.CharField(label=_("State"), required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        coerce=int,
        choices=[("", "—")] + [(p.value, _(p.label)) for p in Priority],
        required=False,
        empty_value=None,
    )
    owner = forms.CharField(label=_("Owner (login)"), required=False)
    customer = forms.CharField(label=_("Customer"), required=False)
    created_from = forms.DateField(
        label=_("Created from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_to = forms.DateField(
        label=_("Created until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    archived = forms.BooleanField(label=_("Include archived tickets"), required=False)
