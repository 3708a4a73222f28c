"""The agents screen, in place of Django's user and group screens (which write around
the domain layer; a Django group is not a Helpline group)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import admin as auth_admin  # noqa: F401  (registered first)
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from helpline.actions import admin as admin_actions
from helpline.actions import sessions as session_actions
from helpline.admin.base import (
    ReportsWithdrawal,
    actor_of,
)
from helpline.errors import HelplineError, InvalidInput
from helpline.models import (
    AgentAccount,
    Role,
)


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
    actions = ["deactivate", "log_out_everywhere"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any
    ) -> Any:
        kw["fields"] = self.get_fields(request, obj)
        form = super().get_form(request, obj, change=change, **kw)
        form.actor = actor_of(request)  # type: ignore[attr-defined]
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
                actor=actor_of(request),
            )
            if not data.get("is_active", True):
                admin_actions.set_agent_active(actor_of(request), user, active=False)
            obj.pk = user.pk
            obj._state.adding, obj._state.db = False, user._state.db
            return
        admin_actions.update_agent(
            actor_of(request),
            obj,
            email=data["email"],
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            is_admin=bool(data.get("is_admin")),
            is_active=bool(data.get("is_active")),
        )
        if data.get("new_password"):
            admin_actions.set_agent_password(
                actor_of(request), obj, data["new_password"]
            )

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        admin_actions.set_agent_roles(
            actor_of(request), form.instance, form.cleaned_data.get("roles", [])
        )

    @admin.action(description="Deactivate the selected agents")
    def deactivate(
        self, request: HttpRequest, queryset: QuerySet[AgentAccount]
    ) -> None:
        done = 0
        for agent in queryset.filter(is_active=True):
            try:
                admin_actions.set_agent_active(actor_of(request), agent, active=False)
                done += 1
            except HelplineError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        self.message_user(request, f"{done} agent(s) deactivated.")

    @admin.action(
        description="Log the selected agents out everywhere (and revoke API tokens)"
    )
    def log_out_everywhere(
        self, request: HttpRequest, queryset: QuerySet[AgentAccount]
    ) -> None:
        sessions = tokens = 0
        for agent in queryset:
            ended = session_actions.log_out_everywhere(actor_of(request), agent)
            sessions, tokens = sessions + ended.sessions, tokens + ended.tokens
        self.message_user(
            request,
            f"{sessions} session(s) ended and {tokens} API token(s) revoked.",
        )
