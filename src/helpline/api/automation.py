"""Automation jobs (docs/automation.md): for administrators only (403 otherwise).

Jobs are listed, shown, defined and previewed here; a run asked for is queued for
the worker (202) and shows in the job's runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Body, Query, Router, Schema, Status
from pydantic import Field

from helpline.api.schemas import Input, answers
from helpline.automation import definition, report, runner, triggers
from helpline.models import AutomationJob

router = Router(tags=["automation"])


class JobOut(Schema):
    name: str
    valid: bool
    comment: str
    owner: str = Field(description="The administrator whose rights bound the job.")
    account: str = Field(description="The job's own account, named in the history.")
    queues: list[str]
    query: str
    ages: dict[str, int]
    trigger: str
    schedule: str
    actions: list[dict[str, Any]]
    once_per_ticket: bool


class RunOut(Schema):
    id: int
    job: str
    trigger: str
    status: str
    created: Any
    started: Any | None
    finished: Any | None
    tickets: int
    changed: int
    failed: int
    errors: list[dict[str, Any]]
    message: str


class JobDetailOut(JobOut):
    runs: list[RunOut]


class JobIn(Input):
    name: str = Field(max_length=80)
    queues: list[str] = Field(min_length=1)
    query: str = ""
    ages: dict[str, int] = Field(default_factory=dict)
    trigger: str = Field(default="", description=", ".join(triggers.TRIGGERS))
    schedule: str = ""
    actions: list[dict[str, Any]] = Field(min_length=1)
    comment: str = ""
    once_per_ticket: bool = False


class PreviewTicketOut(Schema):
    number: str
    title: str
    queue: str
    would: list[str]


class PreviewOut(Schema):
    job: str
    count: int
    actions: list[str]
    hidden: int = Field(description="Listed tickets you may not read (counted only).")
    tickets: list[PreviewTicketOut]


class PreviewParams(Schema):
    limit: int = Field(default=runner.PREVIEW_LIMIT, ge=1, le=1000)


def _admin(request: HttpRequest) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    definition.require_admin(agent)
    return agent


@router.get(
    "/automation/jobs",
    response=answers({200: list[JobOut]}, 403),
    summary="The automation jobs (administrators)",
)
def list_jobs(request: HttpRequest) -> Any:
    _admin(request)
    jobs = AutomationJob.objects.select_related("owner", "actor").prefetch_related(
        "queues"
    )
    return [report.job_data(job) for job in jobs]


@router.post(
    "/automation/jobs",
    response=answers({201: JobOut}, 403, 404, body=True),
    summary="Define an automation job (administrators)",
)
def create_job(request: HttpRequest, body: Annotated[JobIn, Body()]) -> Any:
    agent = _admin(request)
    job = definition.create_job(
        agent,
        body.name,
        definition.JobSpec(
            query=body.query,
            queues=body.queues,
            trigger=body.trigger or None,
            schedule=body.schedule,
            actions=body.actions,
            comment=body.comment,
            once_per_ticket=body.once_per_ticket,
            ages=dict(body.ages),
        ),
    )
    return Status(201, report.job_data(job))


@router.get(
    "/automation/jobs/{name}",
    response=answers({200: JobDetailOut}, 403, 404),
    summary="An automation job and its latest runs",
)
def get_job(request: HttpRequest, name: str) -> Any:
    _admin(request)
    job = definition.get_job(name)
    runs = job.runs.select_related("job")[:20]
    return {**report.job_data(job), "runs": [report.run_data(r) for r in runs]}


@router.get(
    "/automation/jobs/{name}/preview",
    response=answers({200: PreviewOut}, 403, 404),
    summary="What a run now would do, changing nothing",
)
def preview_job(request: HttpRequest, name: str, params: Query[PreviewParams]) -> Any:
    agent = _admin(request)
    preview = runner.preview(agent, definition.get_job(name), limit=params.limit)
    return report.preview_data(preview)


@router.post(
    "/automation/jobs/{name}/runs",
    response=answers({202: RunOut}, 403, 404),
    summary="Run a job now (queued for the worker)",
)
def run_job(request: HttpRequest, name: str) -> Any:
    from helpline.jobs import automation_run_job

    agent = _admin(request)
    run = runner.queue_run(agent, definition.get_job(name))
    transaction.on_commit(lambda: automation_run_job(run.pk))
    return Status(202, report.run_data(run))
