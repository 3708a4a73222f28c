"""Permissions at scale over the API (the API side of ``actions.permission_admin``,
docs/administration.md): a group's holders, page by page, and many grants changed in
one request, as a JSON list of compact changes (``+a12:3:rw``, ``-r4:3:ro``).

The same rules as the screens: administrators who may change grants, and coordinators
(``manage``) for agents' grants on their groups; 403 otherwise.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from helpline.actions import permission_admin as pa
from helpline.api.schemas import PermissionName, answers

router = Router(tags=["administration"])


class HolderOut(Schema):
    kind: Literal["agent", "role"]
    id: int
    name: str
    direct: list[PermissionName] = Field(description="Its own grants on the group.")
    via: dict[str, list[str]] = Field(
        description="Permission: the valid roles that give it too (agents)."
    )


class HoldersOut(Schema):
    total: int
    page: int
    pages: int
    holders: list[HolderOut]


class HoldersQuery(Schema):
    kind: Literal["agent", "role"] = "agent"
    q: str = Field("", max_length=200, description="Part of a name, login or email.")
    permission: PermissionName | Literal[""] = Field(
        "", description="Only holders of it (directly, through a role, by rw)."
    )
    page: int = Field(1, ge=1)
    per_page: int = Field(50, description="50, 100 or 500.")


class ChangesIn(Schema):
    changes: list[str] = Field(
        max_length=pa.MAX_CHANGES,
        description="'+a12:3:rw' adds rw on group 3 for agent 12; '-r4:3:ro' removes "
        "ro on group 3 from role 4.",
    )


class ChangesOut(Schema):
    added: int
    removed: int
    tickets_withdrawn: int = Field(
        description="Tickets whose locks, ownership or watching holders lost."
    )


@router.get(
    "/groups/{group_id}/grants",
    response=answers({200: HoldersOut}, 403, 404),
    summary="Who holds what on a group, a page at a time",
)
def group_grants(
    request: HttpRequest, group_id: int, filters: Query[HoldersQuery]
) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    group = pa.get_group_for(agent, group_id)
    page = pa.group_holders(
        agent,
        group,
        kind=filters.kind,
        query=filters.q,
        permission=filters.permission,
        page=filters.page,
        per_page=filters.per_page,
    )
    return {
        "total": page.total,
        "page": page.number,
        "pages": page.pages,
        "holders": [
            {
                "kind": row.kind,
                "id": row.pk,
                "name": row.label,
                "direct": sorted(row.direct, key=pa.PERMISSIONS.index),
                "via": {p: list(names) for p, names in row.via.items()},
            }
            for row in page.rows
        ],
    }


@router.post(
    "/grants",
    response=answers({200: ChangesOut}, 403, 404, body=True),
    summary="Add and remove many grants in one change",
)
def change_grants(request: HttpRequest, body: ChangesIn) -> Any:
    agent = request.auth  # type: ignore[attr-defined]
    applied = pa.bulk_change_grants(agent, pa.parse_changes(body.changes))
    return {
        "added": applied.added,
        "removed": applied.removed,
        "tickets_withdrawn": len({w.ticket_id for w in applied.withdrawn}),
    }
