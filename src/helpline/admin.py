"""Administration screens (Django admin, customised).

Configuration lives here: queues, system addresses, agents, groups, roles, the
permission grid, answer texts, auto-responses, mail accounts, filters, the quarantine and
the outbox.  Tickets and articles are deliberately absent: they are reached only through
the agent interface, where per-queue permissions apply (superusers have no implicit
ticket access).  Changes to grants go through ``helpline.actions.admin`` so they are
audited like the CLI's.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from helpline.actions import admin as admin_actions
from helpline.errors import HelplineError
from helpline.mail import outbound, postmaster
from helpline.mail.filters import validate_filter
from helpline.models import (
    AgentProfile,
    AutoResponse,
    Grant,
    Group,
    InboundMessage,
    InboundStatus,
    MailAccount,
    OutboxMessage,
    OutboxStatus,
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


class PlaceholderTextForm(forms.ModelForm):
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


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
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
        if change and "name" in form.changed_data:
            new_name = obj.name
            obj.name = Queue.objects.get(pk=obj.pk).name
            admin_actions.rename_queue(obj, new_name)  # renames the sub-queues too
        super().save_model(request, obj, form, change)


@admin.register(SystemAddress)
class SystemAddressAdmin(admin.ModelAdmin):
    list_display = ("email", "display_name", "queue", "valid")
    list_filter = ("valid",)
    search_fields = ("email", "display_name")


class GrantInline(admin.TabularInline):
    model = Grant
    extra = 1
    fields = ("agent", "role", "permission")
    autocomplete_fields = ("agent", "role")


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("name", "valid", "comment")
    search_fields = ("name",)
    inlines = [GrantInline]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("name", "valid", "comment")
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    """Agents' preferences, to look at: each agent changes their own on the
    preferences page, through ``actions.preferences`` (validated and audited)."""

    list_display = ("user", "language", "article_order")
    search_fields = ("user__username", "user__email")
    readonly_fields = ("user", "language", "article_order", "notifications_off")
    exclude = ("followed_queues",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TicketState)
class TicketStateAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "next_state", "valid")
    list_filter = ("type", "valid")


@admin.register(Salutation)
class SalutationAdmin(admin.ModelAdmin):
    form = PlaceholderTextForm
    list_display = ("name", "valid")


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    form = PlaceholderTextForm
    list_display = ("name", "valid")


class TemplateAttachmentInline(admin.TabularInline):
    model = TemplateAttachment
    extra = 0
    fields = ("filename", "content_type")
    readonly_fields = ("filename", "content_type")
    can_delete = True


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = PlaceholderTextForm
    list_display = ("name", "type", "valid")
    list_filter = ("type", "valid", "queues")
    search_fields = ("name", "text")
    filter_horizontal = ("queues",)
    inlines = [TemplateAttachmentInline]


@admin.register(AutoResponse)
class AutoResponseAdmin(admin.ModelAdmin):
    form = PlaceholderTextForm
    list_display = ("name", "type", "valid")
    list_filter = ("type", "valid")
    filter_horizontal = ("queues",)


class FilterForm(forms.ModelForm):
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
class PostmasterFilterAdmin(admin.ModelAdmin):
    form = FilterForm
    list_display = ("name", "order", "stop", "valid")
    list_editable = ("order", "valid")
    search_fields = ("name", "comment")


class MailAccountForm(forms.ModelForm):
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))

    class Meta:
        model = MailAccount
        fields = (
            "name",
            "protocol",
            "host",
            "port",
            "username",
            "password",
            "folder",
            "move_to",
            "queue",
            "trust_headers",
            "verify_tls",
            "valid",
        )


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin):
    form = MailAccountForm
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


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """The quarantine and the log of everything received."""

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
    readonly_fields = [f.name for f in InboundMessage._meta.fields] + ["raw_link"]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="reason")
    def reason_short(self, obj: InboundMessage) -> str:
        return obj.reason[:80]

    @admin.display(description="raw message")
    def raw_link(self, obj: InboundMessage) -> str:
        url = reverse("admin:helpline_inboundmessage_raw", args=[obj.pk])
        return format_html('<a href="{}">download the raw message</a>', url)

    @admin.action(description="Process again (replay)")
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        done = 0
        for message in queryset.exclude(
            status__in=[InboundStatus.PROCESSED, InboundStatus.REJECTED]
        ):
            result = postmaster.replay(message.pk)
            done += result.status == InboundStatus.PROCESSED
        self.message_user(request, f"{done} message(s) processed.")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="helpline_inboundmessage_raw",
            ),
            *super().get_urls(),
        ]

    def raw_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        from helpline.blobstore import read_blob

        message = InboundMessage.objects.get(pk=pk)
        response = HttpResponse(read_blob(message.raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="inbound-{pk}.eml"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


@admin.register(OutboxMessage)
class OutboxAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created",
        "status",
        "attempts",
        "recipients",
        "last_error_short",
    )
    list_filter = ("status",)
    search_fields = ("message_id",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="last error")
    def last_error_short(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    @admin.action(description="Send again")
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        n = 0
        for row in queryset.filter(status=OutboxStatus.FAILED):
            outbound.retry(row.pk)
            n += 1
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
                        admin_actions.grant(group, [perm], agent=agent, role=role)
                        changes += 1
                    elif key not in wanted and has:
                        admin_actions.revoke(group, [perm], agent=agent, role=role)
                        changes += 1
        messages.success(request, f"Permissions saved ({changes} change(s)).")
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
