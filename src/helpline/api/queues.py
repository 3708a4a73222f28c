"""Queues the caller may read, with their ticket counts, and their answer templates."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest
from ninja import Router

from helpline.actions.access import queues_with
from helpline.api.schemas import Name, QueueOut, TemplateOut, answers
from helpline.errors import NotFound
from helpline.models import (
    Permission,
    Queue,
    StateType,
    Template,
    TemplateAttachment,
)
from helpline.replica import on_replica

router = Router(tags=["queues"])


@router.get(
    "/queues",
    response=answers({200: list[QueueOut]}),
    summary="The queues you may read, with open and new ticket counts",
)
def list_queues(request: HttpRequest) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    return on_replica(request, _queues_with_counts, agent)


def _queues_with_counts(agent: Any) -> list[Queue]:
    # Counted in the same query as the queues: one query however many queues.
    return list(
        queues_with(agent, Permission.RO)
        .select_related("group")
        .annotate(
            open_count=Count(
                "tickets", filter=Q(tickets__state_type__in=StateType.open_types())
            ),
            new_count=Count("tickets", filter=Q(tickets__state_type=StateType.NEW)),
        )
        .order_by("name")
    )


@router.get(
    "/queues/{name}/templates",
    response=answers({200: list[TemplateOut]}, 404),
    summary="The valid templates of a queue (for replies: type 'answer')",
)
def list_templates(request: HttpRequest, name: Name) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    queue = queues_with(agent, Permission.RO).filter(name=name).first()
    if queue is None:
        raise NotFound(f"No queue named {name!r} that you may read.")
    files = TemplateAttachment.objects.order_by("id").only("template_id", "filename")
    return list(
        Template.objects.filter(queues=queue, valid=True)
        .prefetch_related(Prefetch("attachments", queryset=files))
        .order_by("name")
    )
