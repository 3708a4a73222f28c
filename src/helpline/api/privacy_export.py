"""Subject-access exports (GDPR Art. 15) through the API, for tokens of agents who
hold the ``handle_personal_data`` right: ask for one (the worker writes it), ask how
it is going, download it once.  Another agent's export is 404 here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Body, Router, Schema, Status
from pydantic import Field, StrictBool, StringConstraints

from helpline.actions import subject_access
from helpline.actions.subject_access import ExportState
from helpline.api.attachments import safe_filename
from helpline.api.schemas import Email, Id, Input, answers
from helpline.jobs import subject_access_export_job
from helpline.models import ReadChannel
from helpline.web.audit import client_of

router = Router(tags=["privacy"])

ExportStatus = Literal["pending", "running", "ready", "downloaded", "expired", "failed"]


class ExportIn(Input):
    address: Email = Field(description="The person's email address (any case).")
    include_internal: StrictBool = Field(
        default=False,
        description=(
            "Include internal notes and messages to third parties, which the "
            "person was not shown."
        ),
    )
    language: Annotated[str, StringConstraints(max_length=10, pattern=r"^[a-z-]*$")] = (
        Field(
            default="",
            description="Language of the summary (en, de); the server's by default.",
        )
    )


class ExportOut(Schema):
    id: int
    status: ExportStatus = Field(
        description=(
            "pending and running: being written; ready: download it (once); "
            "downloaded or expired: its file is deleted; failed: see error."
        )
    )
    created: datetime
    finished: datetime | None
    include_internal: bool
    tickets: int | None
    messages: int | None
    attachments: int | None
    size: int | None = Field(description="Bytes of the zip.")
    expires: datetime | None = Field(description="The file is deleted then.")
    downloaded: datetime | None
    error: str
    download_url: str | None = Field(description="While the status is ready.")


def _out(state: ExportState) -> dict[str, Any]:
    url = (
        reverse("helpline-api:download_export", kwargs={"export_id": state.id})
        if state.status == "ready"
        else None
    )
    return {**state.__dict__, "download_url": url}


@router.post(
    "/privacy/exports",
    response=answers({202: ExportOut}, 403, body=True),
    summary="Ask for a subject-access export of a person (written by the worker)",
)
def request_export(
    request: HttpRequest, body: Annotated[ExportIn, Body()], response: HttpResponse
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    run = subject_access.request_export(
        agent,
        body.address,
        include_internal=body.include_internal,
        language=body.language,
        channel=ReadChannel.API,
        client=client_of(request),
    )
    subject_access_export_job(run.pk)
    response["Location"] = reverse(
        "helpline-api:get_export", kwargs={"export_id": run.pk}
    )
    return Status(202, _out(subject_access.get_export(agent, run.pk)))


@router.get(
    "/privacy/exports/{export_id}",
    response=answers({200: ExportOut}, 403, 404),
    summary="How an export you asked for is going",
)
def get_export(request: HttpRequest, export_id: Id) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    return _out(subject_access.get_export(agent, export_id))


@router.get(
    "/privacy/exports/{export_id}/download",
    response=answers({200: None}, 403, 404, 409, 410),
    openapi_extra={
        "responses": {
            200: {
                "description": (
                    "The zip, once: its file is deleted as it is handed over."
                ),
                "content": {
                    "application/zip": {
                        "schema": {"type": "string", "format": "binary"}
                    }
                },
            }
        }
    },
    summary="Download an export you asked for (once)",
)
def download_export(request: HttpRequest, export_id: Id) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    taken = subject_access.take_download(agent, export_id)
    response = FileResponse(
        taken.handle,
        as_attachment=True,
        filename=safe_filename(taken.filename),
        content_type="application/zip",
    )
    response["Content-Length"] = str(taken.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
