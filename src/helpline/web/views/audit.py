"""The read audit for holders of the ``audit_reads`` right: search it, page through
it (newest first, "more" instead of a count), download what was found as CSV.

Every check and every administration-log entry is in
``helpline.actions.read_audit_search``; an agent without the right (a superuser too)
gets the same 403 page as for any refused action.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.http import (
    HttpResponse,
    HttpResponseNotAllowed,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone

from helpline import local_format
from helpline.actions import privacy_rights
from helpline.actions.read_audit_search import (
    COLUMNS,
    ReadFilters,
    check_filters,
    event_row,
    export_reads,
    search_reads,
)
from helpline.errors import InvalidInput
from helpline.models import ReadChannel, ReadEvent, ReadKind
from helpline.web.views.decorators import AgentRequest, agent_view

FIELDS = ("agent", "ticket", "customer", "since", "until", "kind", "channel")
PAGE = 100
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _filters(query: QueryDict) -> ReadFilters:
    return check_filters(**{name: query.get(name, "") for name in FIELDS})


def _asked(query: QueryDict) -> bool:
    return "search" in query or any(query.get(name) for name in FIELDS)


@agent_view
def reads(request: AgentRequest) -> HttpResponse:
    agent = request.user
    # Before anything else: the page itself is for holders only (403 like any
    # refused action, for a superuser without the right too).
    privacy_rights.require(agent, privacy_rights.AUDIT_READS)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    values = {name: request.GET.get(name, "").strip() for name in FIELDS}
    context: dict[str, Any] = {
        "values": values,
        "kinds": ReadKind.choices,
        "channels": ReadChannel.choices,
        "events": None,
    }
    status = 200
    if _asked(request.GET):
        try:
            filters = _filters(request.GET)
            page = search_reads(
                agent, filters, cursor=request.GET.get("cursor") or None, limit=PAGE
            )
        except InvalidInput as exc:
            context["error"] = exc.message
            status = 400
        else:
            context["events"] = [_shown(e) for e in page.events]
            query = {k: v for k, v in values.items() if v}
            context["csv_query"] = _encode({**query, "search": "1"})
            if page.next_cursor:
                context["more_query"] = _encode(
                    {**query, "search": "1", "cursor": page.next_cursor}
                )
            context["first_page"] = not request.GET.get("cursor")
    return render(request, "helpline/audit_reads.html", context, status=status)


@agent_view
def reads_csv(request: AgentRequest) -> HttpResponse | StreamingHttpResponse:
    """Every event the filters find, as CSV, streamed in batches."""
    privacy_rights.require(request.user, privacy_rights.AUDIT_READS)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    events = export_reads(request.user, _filters(request.GET))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        _csv_lines(events), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="read-audit-{stamp}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _encode(values: dict[str, str]) -> str:
    query = QueryDict(mutable=True)
    query.update(values)
    return query.urlencode()


def _shown(event: ReadEvent) -> dict[str, Any]:
    row = event_row(event)
    local = timezone.localtime(event.at)
    row["at_short"] = local_format.short_datetime(local)
    row["at_iso"] = local.isoformat()
    row["kind_label"] = ReadKind(event.kind).label if event.kind else ""
    return row


class _Line:
    """What ``csv.writer`` writes to: hands back each line instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_lines(events: Iterator[ReadEvent]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for event in events:
        row = event_row(event)
        row["at"] = event.at.isoformat()
        yield writer.writerow([_cell(row[name]) for name in COLUMNS])
