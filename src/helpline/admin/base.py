"""What every administration screen shares: writes through ``helpline.actions.admin``
(``ActionForm`` turns their refusals into form errors, ``ActionAdmin`` saves and
deletes through them), read-only screens, and the report of access withdrawn."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth import admin as auth_admin  # noqa: F401  (registered first)
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from helpline.actions import admin as admin_actions
from helpline.actions.withdrawal import Withdrawn, collecting
from helpline.errors import HelplineError
from helpline.models import Ticket


def actor_of(request: HttpRequest) -> User:
    """The administrator (``admin_view`` let only signed-in staff in)."""
    return cast(User, request.user)


def changed_fields(form: forms.ModelForm, change: bool) -> list[str]:
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
    (``withdrawal.withdraw_lost_access``): one message per ticket and agent for the
    tickets the administrator may read; the others only counted, since a ticket's
    number is itself content (docs/security.md).  One query."""
    if not withdrawn:
        return
    readable = set(
        Ticket.objects.visible_to(actor_of(request))
        .filter(pk__in={item.ticket_id for item in withdrawn})
        .values_list("pk", flat=True)
    )
    hidden: dict[str, set[int]] = {}
    for item in withdrawn:
        if item.ticket_id in readable:
            messages.warning(request, f"Access withdrawn: {item}")
        else:
            hidden.setdefault(item.agent, set()).add(item.ticket_id)
    for agent, ids in sorted(hidden.items()):
        messages.warning(
            request,
            f"Access withdrawn: {agent} lost what it held on {len(ids)} ticket(s) in "
            "queues you may not read (each ticket's history says what).",
        )


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
            actor_of(request), obj, changed=changed_fields(form, change)
        )

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        relations = {
            f.name: form.cleaned_data[f.name]
            for f in form.instance._meta.many_to_many
            if f.name in form.cleaned_data
        }
        admin_actions.save_relations(actor_of(request), form.instance, relations)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            admin_actions.delete_configuration(actor_of(request), obj)
        for obj in instances:
            admin_actions.save_configuration(
                actor_of(request),
                obj,
                changed=[f.name for f in obj._meta.concrete_fields],
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        admin_actions.delete_configuration(actor_of(request), obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            admin_actions.delete_configuration(actor_of(request), obj)

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


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
