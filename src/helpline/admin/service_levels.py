"""Calendars and service levels (docs/service-levels.md), saved through
``actions.service_levels`` like the CLI: working hours typed as text, a service
level's queues chosen on its page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from helpline.actions import service_levels
from helpline.actions.service_levels import UNSET, LevelChange
from helpline.admin.base import ActionAdmin, ActionForm, actor_of
from helpline.models import Calendar, Queue, ServiceLevel
from helpline.sla.calendar import CalendarError, Holidays, format_hours, parse_hours
from helpline.sla.calendar import time_zone as check_zone


class CalendarForm(ActionForm):
    hours_text = forms.CharField(
        label="Working hours",
        help_text="e.g. mon-fri 09:00-17:00; sat 10:00-13:00 (local time).",
    )
    holidays_text = forms.CharField(
        label="Added days off",
        required=False,
        help_text="Dates (YYYY-MM-DD), separated by spaces or commas.",
    )

    class Meta:
        model = Calendar
        fields = ("name", "time_zone", "country", "subdivision", "comment")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["hours_text"].initial = format_hours(self.instance.hours)
            self.fields["holidays_text"].initial = " ".join(
                self.instance.extra_holidays
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["hours"] = parse_hours(data.get("hours_text", ""))
            check_zone(data.get("time_zone") or "UTC")
            Holidays(data.get("country", ""), data.get("subdivision", ""))
        except CalendarError as error:
            raise forms.ValidationError(str(error)) from None
        data["extra"] = (data.get("holidays_text") or "").replace(",", " ").split()
        return data


@admin.register(Calendar)
class CalendarAdmin(ActionAdmin):
    form = CalendarForm
    list_display = ("name", "time_zone", "country", "subdivision")
    search_fields = ("name",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("name",) if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: Calendar, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        saved = service_levels.save_calendar(
            actor_of(request),
            obj.name,
            time_zone_name=data.get("time_zone") or "UTC",
            hours=data["hours_text"],
            country=data.get("country", ""),
            subdivision=data.get("subdivision", ""),
            extra_holidays=data["extra"],
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Calendar) -> None:
        service_levels.delete_calendar(actor_of(request), obj.name)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ServiceLevelForm(ActionForm):
    queues = forms.ModelMultipleChoiceField(
        queryset=Queue.objects.order_by("name"),
        required=False,
        help_text="The queues whose tickets follow this service level.",
    )

    class Meta:
        model = ServiceLevel
        fields = (
            "name",
            "calendar",
            "first_response_minutes",
            "update_minutes",
            "solution_minutes",
            "warning_minutes",
            "comment",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["queues"].initial = list(self.instance.queues.all())


def _target(value: int | None) -> int:
    return UNSET if value is None else value


@admin.register(ServiceLevel)
class ServiceLevelAdmin(ActionAdmin):
    form = ServiceLevelForm
    list_display = (
        "name",
        "calendar",
        "first_response_minutes",
        "update_minutes",
        "solution_minutes",
        "warning_minutes",
    )
    search_fields = ("name",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("name",) if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: ServiceLevel, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        actor = actor_of(request)
        level = service_levels.save_service_level(
            actor,
            obj.name,
            LevelChange(
                calendar=data["calendar"].name,
                first_response=_target(data.get("first_response_minutes")),
                update=_target(data.get("update_minutes")),
                solution=_target(data.get("solution_minutes")),
                warning=data.get("warning_minutes") or 0,
            ),
        )
        obj.pk = level.pk
        chosen = {q.pk for q in data.get("queues") or []}
        for queue in Queue.objects.filter(service_level=level).exclude(pk__in=chosen):
            service_levels.set_queue_service_level(actor, queue, None)
        for queue in Queue.objects.filter(pk__in=chosen).exclude(service_level=level):
            service_levels.set_queue_service_level(actor, queue, level)

    def save_related(self, request: Any, form: Any, formsets: Any, change: Any) -> None:
        """Nothing more: the queues were set in ``save_model``."""

    def delete_model(self, request: HttpRequest, obj: ServiceLevel) -> None:
        service_levels.delete_service_level(actor_of(request), obj.name)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
