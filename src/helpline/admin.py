"""Administration screens (Django admin, customised).

Configuration lives here: queues, system addresses, agents, groups, roles, the
permission grid, answer texts, auto-responses, mail accounts, filters, the quarantine,
the outbox and the administration log.  Tickets and articles are deliberately absent:
they are reached only through the agent interface, where per-queue permissions apply.

Two rules hold on every screen here:

- No implicit access to tickets (docs/permissions.md): mail on a ticket (the inbound
  log, the outbox) shows its content only to an administrator who may read the ticket
  (``actions.access``); mail on no ticket (the quarantine) needs the
  ``helpline.handle_unrouted_mail`` permission, and its raw bytes are only downloaded.
  Delete confirmations name no related tickets, only count them.
- Every write goes through ``helpline.actions.admin`` (validated, and written to the
  administration log); validation errors are form errors.  Django's own user and group
  screens are replaced by the agents screen.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import admin as auth_admin  # noqa: F401  (registered first)
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as DjangoGroup
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, QuerySet, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from helpline.actions import admin as admin_actions
from helpline.actions.withdrawal import Withdrawn, collecting
from helpline.errors import HelplineError, InvalidInput
from helpline.mail import operations as mail_operations
from helpline.mail.filters import validate_filter
from helpline.models import (
    AdminAuditEntry,
    AgentAccount,
    AgentProfile,
    AutoResponse,
    Grant,
    Group,
    InboundMessage,
    MailAccount,
    OutboxMessage,
    Permission,
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

admin.site.site_header = "Helpline administration"
admin.site.site_title = "Helpline"
admin.site.index_title = "Configuration"

# Django's user and group screens write around the domain layer (and a Django group is
# not a Helpline group): the agents screen below replaces them.
for _model in (User, DjangoGroup):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


def _actor(request: HttpRequest) -> User:
    """The administrator (``admin_view`` let only signed-in staff in)."""
    return cast(User, request.user)


def _changed(form: forms.ModelForm, change: bool) -> list[str]:
    return list(form.changed_data) if change else list(form.cleaned_data)


class ActionForm(forms.ModelForm):
    """A model form whose instance is checked by a domain ``check`` once the form has
    built it: the action's errors become form errors, never a server error."""

    def check(self, instance: Any) -> None:
        """Raise a ``HelplineError`` if the instance cannot be saved."""

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        if not self.errors:
            try:
                self.check(self.instance)
            except HelplineError as exc:
                self.add_error(None, exc.message)


def report_withdrawn(request: HttpRequest, withdrawn: list[Withdrawn]) -> None:
    """Tell the administrator what a change of access took back on tickets
    (``withdrawal.withdraw_lost_access``): one message per ticket and agent."""
    for item in withdrawn:
        messages.warning(request, f"Access withdrawn: {item}")


class ReportsWithdrawal(admin.ModelAdmin):
    """Every admin page that writes reports the access its change withdrew."""

    def changeform_view(self, request: HttpRequest, *args: Any, **kw: Any) -> Any:
        with collecting() as withdrawn:
            response = super().changeform_view(request, *args, **kw)
        report_withdrawn(request, withdrawn)
        return response

    def changelist_view(self, request: HttpRequest, *args: Any, **kw: Any) -> Any:
        with collecting() as withdrawn:
            response = super().changelist_view(request, *args, **kw)
        report_withdrawn(request, withdrawn)
        return response

    def delete_view(self, request: HttpRequest, *args: Any, **kw: Any) -> Any:
        with collecting() as withdrawn:
            response = super().delete_view(request, *args, **kw)
        report_withdrawn(request, withdrawn)
        return response


class ActionAdmin(ReportsWithdrawal):
    """Saves, deletes and inline changes through ``helpline.actions.admin``."""

    form = ActionForm

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        admin_actions.save_configuration(
            _actor(request), obj, changed=_changed(form, change)
        )

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        relations = {
            f.name: form.cleaned_data[f.name]
            for f in form.instance._meta.many_to_many
            if f.name in form.cleaned_data
        }
        admin_actions.save_relations(_actor(request), form.instance, relations)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            admin_actions.delete_configuration(_actor(request), obj)
        for obj in instances:
            admin_actions.save_configuration(
                _actor(request),
                obj,
                changed=[f.name for f in obj._meta.concrete_fields],
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        admin_actions.delete_configuration(_actor(request), obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            admin_actions.delete_configuration(_actor(request), obj)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except HelplineError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """What a deletion takes along, counted by kind, never named: the names of
        related rows (a ticket's number and title) are not the administration's."""
        collector = NestedObjects(using="default")
        collector.collect(list(objs))
        to_delete = [str(obj) for obj in objs]
        counts: dict[str, int] = {
            str(model._meta.verbose_name_plural): len(rows)  # type: ignore[attr-defined]
            for model, rows in collector.model_objs.items()
        }
        protected: dict[str, int] = {}
        for obj in collector.protected:
            label = str(type(obj)._meta.verbose_name_plural)
            protected[label] = protected.get(label, 0) + 1
        in_use = [f"{n} {label}" for label, n in sorted(protected.items())]
        return to_delete, counts, set(), in_use

    def response_action(self, request: HttpRequest, queryset: Any) -> Any:
        try:
            return super().response_action(request, queryset)
        except HelplineError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


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
        "valid",
    )
    list_filter = ("valid", "group", "follow_up")
    search_fields = ("name", "comment")
    autocomplete_fields = ("group",)

    def save_model(
        self, request: HttpRequest, obj: Queue, form: Any, change: bool
    ) -> None:
        admin_actions.save_queue(_actor(request), obj, changed=_changed(form, change))


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
            _actor(request), obj, changed=_changed(form, change)
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
        for grant_form in formset.forms:
            data = getattr(grant_form, "cleaned_data", None) or {}
            old = (
                Grant.objects.filter(pk=grant_form.instance.pk).first()
                if grant_form.instance.pk
                else None
            )
            if old is not None and (data.get("DELETE") or grant_form.has_changed()):
                admin_actions.revoke_as(
                    _actor(request),
                    group,
                    [old.permission],
                    agent=old.agent,
                    role=old.role,
                )
            if data and not data.get("DELETE") and grant_form.has_changed():
                admin_actions.grant_as(
                    _actor(request),
                    group,
                    [data["permission"]],
                    agent=data.get("agent"),
                    role=data.get("role"),
                )


@admin.register(Role)
class RoleAdmin(ActionAdmin):
    list_display = ("name", "valid", "comment")
    search_fields = ("name",)
    filter_horizontal = ("members",)

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        admin_actions.set_role_members(
            _actor(request), form.instance, form.cleaned_data.get("members", [])
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
            _actor(request), obj, changed=_changed(form, change)
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


@admin.register(Template)
class TemplateAdmin(ActionAdmin):
    form = PlaceholderTextForm
    list_display = ("name", "type", "valid")
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
            _actor(request),
            obj,
            changed=[f for f in _changed(form, change) if f != "password"],
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


# --- agents ------------------------------------------------------------------------------


class AgentForm(forms.ModelForm):
    """An agent's account.  The password is write-only (blank keeps it); the roles are
    Helpline roles (the grants of a group are set on the group or the grid)."""

    is_admin = forms.BooleanField(
        required=False,
        label="Administrator",
        help_text="Opens these screens; gives no access to any queue.",
    )
    new_password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        strip=False,
        label="Password",
        help_text="Leave blank to keep the password (a new agent then has none).",
    )
    roles = forms.ModelMultipleChoiceField(
        queryset=Role.objects.all(),
        required=False,
        widget=FilteredSelectMultiple("roles", is_stacked=False),
    )
    actor: Any = None

    class Meta:
        model = AgentAccount
        fields = ("username", "email", "first_name", "last_name", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["is_admin"].initial = self.instance.is_superuser
            self.fields["roles"].initial = list(
                Role.objects.filter(members=self.instance)
            )
        if "email" in self.fields:
            self.fields["email"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            if data.get("email"):
                admin_actions.check_agent_email(data["email"])
            if data.get("new_password"):
                admin_actions.check_new_password(data["new_password"], self.instance)
            if (
                self.instance.pk is not None
                and self.actor is not None
                and self.actor.pk == self.instance.pk
                and not (data.get("is_active") and data.get("is_admin"))
            ):
                raise InvalidInput(
                    "You cannot deactivate yourself or remove your own "
                    "administration right."
                )
        except HelplineError as exc:
            raise ValidationError(exc.message) from exc
        return data


@admin.register(AgentAccount)
class AgentAdmin(ReportsWithdrawal):
    """Agents: created, changed and deactivated (never deleted: their history stays)
    through ``actions.admin``."""

    form = AgentForm
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_superuser",
        "last_login",
    )
    list_filter = ("is_active", "is_superuser")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)
    actions = ["deactivate"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any
    ) -> Any:
        kw["fields"] = (["username"] if obj is None else []) + [
            "email",
            "first_name",
            "last_name",
            "is_active",
            "is_admin",
            "new_password",
            "roles",
        ]
        form = super().get_form(request, obj, change=change, **kw)
        form.actor = _actor(request)  # type: ignore[attr-defined]
        return form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        head = ["username"] if obj is None else []
        return head + [
            "email",
            "first_name",
            "last_name",
            "is_active",
            "is_admin",
            "new_password",
            "roles",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: AgentAccount, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        if not change:
            user = admin_actions.create_agent(
                data["username"],
                email=data["email"],
                password=data.get("new_password") or None,
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                is_admin=bool(data.get("is_admin")),
                actor=_actor(request),
            )
            if not data.get("is_active", True):
                admin_actions.update_agent(
                    _actor(request),
                    user,
                    email=user.email,
                    first_name=user.first_name,
                    last_name=user.last_name,
                    is_admin=user.is_superuser,
                    is_active=False,
                )
            obj.pk = user.pk
            obj._state.adding, obj._state.db = False, user._state.db
            return
        admin_actions.update_agent(
            _actor(request),
            obj,
            email=data["email"],
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            is_admin=bool(data.get("is_admin")),
            is_active=bool(data.get("is_active")),
        )
        if data.get("new_password"):
            admin_actions.set_agent_password(_actor(request), obj, data["new_password"])

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        admin_actions.set_agent_roles(
            _actor(request), form.instance, form.cleaned_data.get("roles", [])
        )

    @admin.action(description="Deactivate the selected agents")
    def deactivate(
        self, request: HttpRequest, queryset: QuerySet[AgentAccount]
    ) -> None:
        done = 0
        for agent in queryset.filter(is_active=True):
            try:
                admin_actions.update_agent(
                    _actor(request),
                    agent,
                    email=agent.email,
                    first_name=agent.first_name,
                    last_name=agent.last_name,
                    is_admin=agent.is_superuser,
                    is_active=False,
                )
                done += 1
            except HelplineError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        self.message_user(request, f"{done} agent(s) deactivated.")


# --- mail in and out ---------------------------------------------------------------------


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    """The quarantine and the log of everything received: only what the administrator
    may read (``actions.admin.inbound_readable_q``); the raw message is a download."""

    list_display = (
        "id",
        "received",
        "status",
        "transport",
        "reason_short",
        "message_id",
    )
    list_filter = ("status", "transport")
    search_fields = ("message_id", "reason", "sha256")
    readonly_fields = [
        f.name for f in InboundMessage._meta.fields if f.name != "raw"
    ] + ["raw_link"]
    actions = ["replay"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        return (
            super()
            .get_queryset(request)
            .filter(admin_actions.inbound_readable_q(_actor(request)))
        )

    @admin.display(description="reason")
    def reason_short(self, obj: InboundMessage) -> str:
        return obj.reason[:80]

    @admin.display(description="raw message")
    def raw_link(self, obj: InboundMessage) -> str:
        url = reverse("admin:helpline_inboundmessage_raw", args=[obj.pk])
        return format_html('<a href="{}">download the raw message</a>', url)

    @admin.action(description="Process again (replay)")
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        done = mail_operations.replay_inbound(
            _actor(request), queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{done} message(s) processed.")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="helpline_inboundmessage_raw",
            ),
            *super().get_urls(),
        ]

    def raw_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The raw bytes as a download (never shown as a page), of a message the
        administrator may read; any other id is "not found"."""
        from helpline.blobstore import read_blob

        message = self.get_object(request, object_id)
        if message is None or not self.has_view_permission(request, message):
            raise Http404("No such message.")
        response = HttpResponse(
            read_blob(message.raw), content_type="application/octet-stream"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="inbound-{message.pk}.eml"'
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


@admin.register(OutboxMessage)
class OutboxAdmin(ReadOnlyAdmin):
    """Outgoing mail: its state (status, attempts, last error) for everyone running
    the system; its content (sender, recipients, message, article) only where the
    administrator may read the ticket (``actions.admin.outbox_readable_q``)."""

    list_display = (
        "id",
        "created",
        "status",
        "attempts",
        "recipients_shown",
        "last_error_short",
    )
    list_filter = ("status",)
    search_fields = ("message_id",)
    state_fields = [
        "status",
        "attempts",
        "next_attempt",
        "claimed_until",
        "created",
        "sent",
        "last_error",
    ]
    content_fields = ["message_id", "envelope_from", "recipients", "article"]
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxMessage]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                content_visible=Case(
                    When(admin_actions.outbox_readable_q(_actor(request)), then=True),
                    default=False,
                    output_field=BooleanField(),
                )
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: Any, search_term: str
    ) -> Any:
        if search_term:  # searching by content: among readable messages only
            queryset = queryset.filter(content_visible=True)
        return super().get_search_results(request, queryset, search_term)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        shown = obj is not None and getattr(obj, "content_visible", False)
        return self.state_fields + (self.content_fields if shown else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    @admin.display(description="recipients")
    def recipients_shown(self, obj: OutboxMessage) -> str:
        if not getattr(obj, "content_visible", False):
            return "(not shown: no access to the ticket)"
        return ", ".join(obj.recipients)

    @admin.display(description="last error")
    def last_error_short(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    @admin.action(description="Send again")
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        n = mail_operations.retry_outbox(
            _actor(request), queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{n} message(s) queued again.")


# --- the permission grid ----------------------------------------------------------------

GRID_PERMS = [p.value for p in Permission]


def permission_grid(request: HttpRequest) -> HttpResponse:
    """Agents and roles down, groups x permissions across, all editable at once."""
    groups = list(Group.objects.filter(valid=True).order_by("name"))
    agents = list(get_user_model().objects.filter(is_active=True).order_by("username"))
    roles = list(Role.objects.filter(valid=True).order_by("name"))
    held = {
        (f"a{g.agent_id}" if g.agent_id else f"r{g.role_id}", g.group_id, g.permission)
        for g in Grant.objects.all()
    }
    if request.method == "POST":
        wanted = set(request.POST.getlist("grant"))
        changes = 0
        withdrawn: list[Withdrawn] = []
        for subject_key, subject in [(f"a{a.pk}", a) for a in agents] + [
            (f"r{r.pk}", r) for r in roles
        ]:
            for group in groups:
                for perm in GRID_PERMS:
                    key = f"{subject_key}:{group.pk}:{perm}"
                    has = (subject_key, group.pk, perm) in held
                    agent = None if isinstance(subject, Role) else subject
                    role = subject if isinstance(subject, Role) else None
                    if key in wanted and not has:
                        admin_actions.grant_as(
                            _actor(request), group, [perm], agent=agent, role=role
                        )
                        changes += 1
                    elif key not in wanted and has:
                        revocation = admin_actions.revoke_as(
                            _actor(request), group, [perm], agent=agent, role=role
                        )
                        withdrawn += revocation.withdrawn
                        changes += 1
        messages.success(request, f"Permissions saved ({changes} change(s)).")
        report_withdrawn(request, withdrawn)
        return HttpResponseRedirect(request.path)
    rows = [(f"a{a.pk}", f"{a.username}", "agent") for a in agents] + [
        (f"r{r.pk}", r.name, "role") for r in roles
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Permission grid",
        "groups": groups,
        "perms": GRID_PERMS,
        "rows": [
            {
                "key": key,
                "label": label,
                "kind": kind,
                "cells": [
                    {
                        "name": f"{key}:{g.pk}:{p}",
                        "checked": (key, g.pk, p) in held,
                        "title": f"{label}: {p} on {g.name}",
                    }
                    for g in groups
                    for p in GRID_PERMS
                ],
            }
            for key, label, kind in rows
        ],
    }
    return TemplateResponse(request, "admin/helpline/permission_grid.html", context)


_original_get_urls = admin.site.get_urls


def _get_urls() -> list[Any]:
    return [
        path(
            "helpline/permissions/",
            admin.site.admin_view(permission_grid),
            name="helpline_permission_grid",
        ),
        *_original_get_urls(),
    ]


admin.site.get_urls = _get_urls  # type: ignore[method-assign]
