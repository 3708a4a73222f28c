"""Automation jobs on the administration screens: the job (saved through
``automation.definition``, its errors shown as form errors), its runs (read only),
and a preview page that lists what a run now would do."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from helpline.admin.base import ReadOnlyAdmin, actor_of
from helpline.automation import definition, runner, triggers
from helpline.automation.selection import AGES
from helpline.errors import HelplineError
from helpline.models import AutomationJob, AutomationRun, Queue


class JobForm(forms.ModelForm):
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True),
        to_field_name="username",
        help_text="The administrator whose rights bound the job (default: you).",
        required=False,
    )
    queues = forms.ModelMultipleChoiceField(queryset=Queue.objects.all())
    trigger = forms.ChoiceField(choices=[(t, t) for t in triggers.TRIGGERS])
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text='A JSON list, e.g. [{"do": "move", "queue": "Junk"}] '
        "(docs/automation.md lists the actions).",
    )
    actor_user: Any = None

    class Meta:
        model = AutomationJob
        fields = [
            "name",
            "comment",
            "valid",
            "owner",
            "queues",
            "query",
            *AGES,
            "trigger",
            "schedule",
            "actions",
            "once_per_ticket",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["name"].disabled = True
            self.initial["actions"] = json.dumps(self.instance.actions, indent=1)
            self.initial["owner"] = self.instance.owner.get_username()

    def clean_actions(self) -> Any:
        try:
            return json.loads(self.cleaned_data["actions"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from None

    def spec(self) -> definition.JobSpec:
        data = self.cleaned_data
        owner = data.get("owner")
        return definition.JobSpec(
            query=data.get("query", ""),
            queues=[q.name for q in data.get("queues", [])],
            trigger=data.get("trigger"),
            schedule=data.get("schedule", ""),
            actions=data.get("actions"),
            comment=data.get("comment", ""),
            valid=data.get("valid"),
            once_per_ticket=data.get("once_per_ticket"),
            owner=owner.get_username() if owner is not None else None,
            ages={key: data.get(key) for key in AGES},
        )

    def _post_clean(self) -> None:
        # The definition checks everything; the model's own validation is not used.
        if self.errors:
            return
        job = self.instance
        if job.pk is None:
            job = AutomationJob(name=self.cleaned_data.get("name", ""))
        try:
            definition.check_spec(self.actor_user, job, self.spec())
        except HelplineError as exc:
            self.add_error(None, exc.message)


@admin.register(AutomationJob)
class AutomationJobAdmin(admin.ModelAdmin):
    form = JobForm
    list_display = ("name", "valid", "trigger", "schedule", "owner", "preview_link")
    list_filter = ("valid", "trigger")
    search_fields = ("name", "comment")

    def get_form(
        self,
        request: HttpRequest,
        obj: Any | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type("BoundJobForm", (form,), {"actor_user": actor_of(request)})

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        actor = actor_of(request)
        if change:
            saved = definition.change_job(actor, obj, form.spec())
        else:
            saved = definition.create_job(actor, form.cleaned_data["name"], form.spec())
        form.instance = saved
        obj.pk = saved.pk

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        """The queues were saved with the job (``definition``)."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        definition.delete_job(actor_of(request), obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for job in queryset:
            definition.delete_job(actor_of(request), job)

    @admin.display(description="preview")
    def preview_link(self, obj: AutomationJob) -> str:
        url = reverse("admin:helpline_automationjob_preview", args=[obj.pk])
        return format_html('<a href="{}">preview</a>', url)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:job_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="helpline_automationjob_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """What a run now would do: nothing is changed."""
        job = (
            AutomationJob.objects.select_related("owner", "actor")
            .filter(pk=job_id)
            .first()
        )
        if job is None:
            raise Http404("No such job.")
        try:
            preview = runner.preview(actor_of(request), job)
        except HelplineError as exc:
            return HttpResponse(
                exc.message, status=exc.http_status, content_type="text/plain"
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of job {job.name}",
            "job": job,
            "preview": preview,
            "runs": list(job.runs.all()[:10]),
        }
        return TemplateResponse(
            request, "admin/helpline/automation_preview.html", context
        )


@admin.register(AutomationRun)
class AutomationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "job",
        "trigger",
        "status",
        "started",
        "finished",
        "matched",
        "changed",
        "failed",
    )
    list_filter = ("status", "trigger")
    list_select_related = ("job",)
    readonly_fields = ("errors", "message")
