"""Who the caller is, how they authenticated, and what they may do in which queue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from helpline.actions.access import group_permissions
from helpline.api.schemas import MeOut, answers
from helpline.models import Permission, Queue

router = Router(tags=["me"])


@router.get("/me", response=answers({200: MeOut}), summary="You")
def me(request: HttpRequest) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    token = getattr(request, "api_token", None)
    perms = group_permissions(agent)
    queues = Queue.objects.filter(valid=True, group_id__in=perms).order_by("name")
    order = list(Permission.values)
    return {
        "login": agent.get_username(),
        "email": agent.email,
        "first_name": agent.first_name,
        "last_name": agent.last_name,
        "is_admin": agent.is_superuser,
        "auth": "token" if token is not None else "session",
        "token": token,
        "queues": [
            {
                "queue": queue.name,
                "permissions": sorted(perms[queue.group_id], key=order.index),
            }
            for queue in queues
        ],
    }
