"""The API application: its routers, its authentication and its error handlers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Router
from ninja.operation import Operation

from helpline.api import (
    agentday,
    articles,
    audit,
    automation,
    grants,
    history,
    me,
    merge,
    privacy,
    privacy_export,
    queues,
    redaction,
    reports,
    spam,
    tickets,
)
from helpline.api.auth import api_auth
from helpline.api.errors import ApiError, install

DESCRIPTION = """\
The ticket system's JSON API. Authenticate with `Authorization: Bearer <token>`
(tokens are made with `helpline api-token create LOGIN`). You see and do exactly what
the agent behind the token may do in the web interface: a ticket you may not read is
404, as if it did not exist. Errors are `{"error": {"code": ..., "message": ...}}`.
The guide is docs/api.md.
"""


class HelplineApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # The view's name (unique across the routers): stable for generated clients.
        return str(operation.view_func.__name__)

    def create_response(
        self, request: HttpRequest, data: Any, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().create_response(request, data, *args, **kwargs)
        # Tickets are private: no shared cache may keep an answer.
        response.setdefault("Cache-Control", "private, no-store")
        return response


unknown = Router()


@unknown.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"],
    "/{path:rest}",
    auth=None,
    include_in_schema=False,
)
def no_such_endpoint(request: HttpRequest, rest: str) -> Any:
    raise ApiError(404, "not_found", "No such API endpoint; see /api/v1/openapi.json.")


api = HelplineApi(
    title="Helpline API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="helpline-api",
    docs_url=None,
    auth=api_auth(),
)
install(api)
for module in (
    tickets,
    merge,
    privacy,
    history,
    articles,
    redaction,
    queues,
    me,
    audit,
    privacy_export,
    spam,
    agentday,
    automation,
    grants,
    reports,
):
    api.add_router("", module.router)
api.add_router("", unknown)
