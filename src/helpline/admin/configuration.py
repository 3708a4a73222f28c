"""Configuration screens: queues, system addresses, groups and their grants, roles,
states, answer texts, auto-responses, filters, mail accounts, agent profiles and
the administration log."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin  # noqa: F401  (registered first)
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from helpline.actions import admin as admin_actions
from helpline.actions import privacy_rights
from helpline.actions.retention import RETENTION_FIELDS
from helpline.admin.base import (
    ActionAdmin,
    ActionForm,
    ReadOnlyAdmin,
    actor_of,
    changed_fields,
)
from helpline.errors import HelplineError, InvalidInput
from helpline.mail.filters import validate_filter
from helpline.models import (
    AdminAuditEntry,
    AgentProfile,
    AutoResponse,
    Grant,
    Group,
    MailAccount,
    PostmasterFilter,
    Queue,
    Role,
    Salutation,
    Signature,
    SystemAddress,
    Template,
    TemplateAttachment,
    TicketState,
)
from helpline.responses.render import check_text


class PlaceholderTextForm(ActionForm):
    """Refuses texts with unknown placeholders when they are saved."""

    checked_fields = ("text", "subject")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.checked_fields:
            value = data.get(name)
            if isinstance(value, str):
                try:
                    check_text(value)
                except HelplineError as exc:
                    self.add_error(name, exc.message)
        return data


class QueueForm(ActionForm):
    def check(self, instance: Queue) -> None:
        old = Queue.objects.filter(pk=instance.pk).first() if instance.pk else None
        instance.name = admin_actions.check_queue_name(instance.name, queue=old)


@admin.register(Queue)
class QueueAdmin(ActionAdmin):
    form = QueueForm
    list_display = (
        "name",
        "group",
        "system_address",
        "follow_up",
        "unlock_timeout",
        "retention_days",
        "valid",
    )
    list_filter = ("valid", "group", "follow_up")
    search_fields = ("name", "comment")
    autocomplete_fields = ("group",)

    def formfield_for_dbfield(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        # The column is nullable only to be added without a table rewrite; it is
        # never null: a plain choice, not one with an empty entry (the booleans'
        # checkboxes come from DefaultedBooleanField).
        if db_field.name == "retention_action":
            return forms.ChoiceField(
                choices=db_field.choices, label=db_field.verbose_name, initial="delete"
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Retention removes tickets for good: only a holder of handle_personal_data
        # sets it (actions.retention); other administrators see it.
        fields = list(super().get_readonly_fields(request, obj))
        if not privacy_rights.may_handle_personal_data(request.user):
            fields += [f for f in RETENTION_FIELDS if f not in fields]
        return fields

    def save_model(
        self, request: HttpRequest, obj: Queue, form: Any, change: bool
    ) -> None:
        admin_actions.save_queue(
            actor_of(request), obj, changed=changed_fields(form, change)
        )


class SystemAddressForm(ActionForm):
    def check(self, instance: SystemAddress) -> None:
        instance.email = admin_actions.check_system_address(
            instance.email, address=instance
        )


@admin.register(SystemAddress)
class SystemAddressAdmin(ActionAdmin):
    form = SystemAddressForm
    list_display = ("email", "display_name", "queue", "valid")
    list_filter = ("valid",)
    search_fields = ("email", "display_name")

    def save_model(
        self, request: HttpRequest, obj: SystemAddress, form: Any, change: bool
    ) -> None:
        admin_actions.save_system_address(
            actor_of(request), obj, changed=changed_fields(form, change)
        )


class GrantInline(admin.TabularInline):
    model = Grant
    extra = 1
    fields = ("agent", "role", "permission")
    # Agents are a plain list: Django's user screen (autocomplete's source) is gone.
    autocomplete_fields = ("role",)


@admin.register(Group)
class GroupAdmin(ActionAdmin):
    list_display = ("name", "valid", "comment")
    search_fields = ("name",)
    inlines = [GrantInline]

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        """Grants are given and taken through ``grant`` and ``revoke``: a changed row
        is the old grant revoked and the new one granted."""
        if formset.model is not Grant:
            super().save_formset(request, form, formset, change)
            return
        group = form.instance
        # What the admin's change message reads; the grants are not saved by the
        # formset but by the actions below.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = (
            [],
            [],
            [],
        )
        add: list[admin_actions.GrantChange] = []
        remove: list[admin_actions.GrantChange] = []
        for grant_form in formset.forms:
            data = getattr(grant_form, "cleaned_data", None) or {}
            old = (
                Grant.objects.filter(pk=grant_form.instance.pk).first()
                if grant_form.instance.pk
                else None
            )
            if old is not None and (data.get("DELETE") or grant_form.has_changed()):
                remove.append(
                    admin_actions.GrantChange(
                        group, old.permission, agent=old.agent, role=old.role
                    )
                )
            if data and not data.get("DELETE") and grant_form.has_changed():
                add.append(
                    admin_actions.GrantChange(
                        group,
                        data["permission"],
                        agent=data.get("agent"),
                        role=data.get("role"),
                    )
                )
        # Additions first, in one transaction (change_grants): an edited row (ro
        # -> rw) never leaves its holder without access in between.
        admin_actions.change_grants(actor_of(request), add=add, remove=remove)


@admin.register(Role)
class RoleAdmin(ActionAdmin):
    list_display = ("name", "valid", "comment")
    search_fields = ("name",)
    filter_horizontal = ("members",)

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        admin_actions.set_role_members(
            actor_of(request), form.instance, form.cleaned_data.get("members", [])
        )


@admin.register(AgentProfile)
class AgentProfileAdmin(ReadOnlyAdmin):
    """Agents' preferences, to look at: each agent changes their own on the
    preferences page, through ``actions.preferences`` (validated and audited)."""

    list_display = ("user", "language", "article_order")
    search_fields = ("user__username", "user__email")
    readonly_fields = ("user", "language", "article_order", "notifications_off")
    exclude = ("followed_queues",)


@admin.register(AdminAuditEntry)
class AdminAuditEntryAdmin(ReadOnlyAdmin):
    """The administration log: every configuration change, read-only."""

    list_display = ("created", "actor_name", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "object_repr")
    fields = (
        "created",
        "actor_name",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "before",
        "after",
    )
    readonly_fields = fields


class TicketStateForm(ActionForm):
    def check(self, instance: TicketState) -> None:
        admin_actions.check_ticket_state(instance)


@admin.register(TicketState)
class TicketStateAdmin(ActionAdmin):
    form = TicketStateForm
    list_display = ("name", "type", "next_state", "valid")
    list_filter = ("type", "valid")

    def save_model(
        self, request: HttpRequest, obj: TicketState, form: Any, change: bool
    ) -> None:
        admin_actions.save_ticket_state(
            actor_of(request), obj, changed=changed_fields(form, change)
        )


@admin.register(Salutation)
class SalutationAdmin(ActionAdmin):
    form = PlaceholderTextForm
    list_display = ("name", "valid")


@admin.register(Signature)
class SignatureAdmin(ActionAdmin):
    form = PlaceholderTextForm
    list_display = ("name", "valid")


class TemplateAttachmentInline(admin.TabularInline):
    model = TemplateAttachment
    extra = 0
    fields = ("filename", "content_type")
    readonly_fields = ("filename", "content_type")
    can_delete = True


class TemplateForm(PlaceholderTextForm):
    """A translation names the template it translates: of the same type, not a
    translation itself, and with a language (docs/web.md "Composing")."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        language = (data.get("language") or "").strip()
        if language and not LANGUAGE_CODE.match(language):
            self.add_error("language", "A language code such as en, de or pt-BR.")
        data["language"] = language
        base = data.get("translation_of")
        if base is not None:
            if not language:
                self.add_error("language", "A translation needs its language.")
            if base.translation_of_id is not None or (
                self.instance.pk and base.pk == self.instance.pk
            ):
                self.add_error(
                    "translation_of",
                    "Translate the template itself, not a translation.",
                )
            if data.get("type") and base.type != data["type"]:
                self.add_error(
                    "translation_of", "A translation is of its template's type."
                )
        return data


LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


@admin.register(Template)
class TemplateAdmin(ActionAdmin):
    form = TemplateForm
    list_display = ("name", "type", "language", "translation_of", "valid")
    list_filter = ("type", "valid", "queues")
    search_fields = ("name", "text")
    filter_horizontal = ("queues",)
    inlines = [TemplateAttachmentInline]


@admin.register(AutoResponse)
class AutoResponseAdmin(ActionAdmin):
    form = PlaceholderTextForm
    list_display = ("name", "type", "valid")
    list_filter = ("type", "valid")
    filter_horizontal = ("queues",)


class FilterForm(ActionForm):
    class Meta:
        model = PostmasterFilter
        fields = ("name", "order", "matches", "sets", "stop", "valid", "comment")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            validate_filter(data.get("matches"), data.get("sets"))
        except HelplineError as exc:
            raise ValidationError(exc.message) from exc
        return data


@admin.register(PostmasterFilter)
class PostmasterFilterAdmin(ActionAdmin):
    form = FilterForm
    list_display = ("name", "order", "stop", "valid")
    list_editable = ("order", "valid")
    search_fields = ("name", "comment")


class MailAccountForm(ActionForm):
    """The password is write-only: never in the form's initial data or the page;
    left blank, the stored one is kept."""

    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        strip=False,
        help_text="Leave blank to keep the stored password.",
    )

    class Meta:
        model = MailAccount
        fields = (
            "name",
            "protocol",
            "host",
            "port",
            "username",
            "folder",
            "move_to",
            "queue",
            "trust_headers",
            "verify_tls",
            "valid",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.pop("password", None)

    def check(self, instance: MailAccount) -> None:
        if instance.pk is None and not self.cleaned_data.get("password"):
            raise InvalidInput("A new mail account needs a password.")
        if instance.pk is not None and not self.cleaned_data.get("password"):
            # The same rule as the save's, said on the form.
            admin_actions.stored_mail_password(instance.pk, instance)


@admin.register(MailAccount)
class MailAccountAdmin(ActionAdmin):
    form = MailAccountForm
    exclude = ("password",)  # the form's own write-only field, never the model's
    list_display = (
        "name",
        "protocol",
        "host",
        "username",
        "queue",
        "valid",
        "last_fetch",
    )
    readonly_fields = ("last_fetch", "last_error")
    actions = ["test_connection"]

    def save_model(
        self, request: HttpRequest, obj: MailAccount, form: Any, change: bool
    ) -> None:
        admin_actions.save_mail_account(
            actor_of(request),
            obj,
            changed=[f for f in changed_fields(form, change) if f != "password"],
            password=form.cleaned_data.get("password") or None,
        )

    @admin.action(description="Test the connection (log in, open the folder)")
    def test_connection(
        self, request: HttpRequest, queryset: QuerySet[MailAccount]
    ) -> None:
        from helpline.mail.transports.accounts import test_account

        for account in queryset:
            try:
                result = test_account(account)
                self.message_user(
                    request, f"{account.name}: {result}", messages.SUCCESS
                )
            except Exception as exc:  # any connection failure is reported, not raised
                self.message_user(request, f"{account.name}: {exc}", messages.ERROR)
