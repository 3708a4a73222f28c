"""Agents as administrators see them (docs/administration.md): last login and last
activity, deactivation and reactivation, and the report of inactive agents.

Last activity is the latest of the last login, the last request of a session
(``AgentSession.last_seen``) and the last use of an API token: one query per page
whatever the number of agents (subqueries, not a query per agent).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import DateTimeField, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from helpline.actions import admin as admin_actions
from helpline.actions import permission_admin as pa
from helpline.actions.withdrawal import Withdrawn
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import AgentProfile, AgentSession, ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

# "Never": earlier than any real activity, so that Greatest works alike on
# PostgreSQL (which skips nulls) and SQLite (where one null makes the result null).
NEVER = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MAX_MONTHS = 120


def may_manage_agents(actor: Agent | None) -> bool:
    return pa.is_permission_admin(actor) and bool(
        actor is not None and actor.has_perm("auth.change_user")
    )


def require_agent_admin(actor: Agent | None) -> None:
    if not may_manage_agents(actor):
        raise PermissionDenied("Only administrators who may change agents do this.")


def _latest(model: Any, column: str) -> Coalesce:
    rows = (
        model.objects.filter(agent=OuterRef("pk"))
        .order_by()
        .values("agent")
        .annotate(latest=Max(column))
        .values("latest")
    )
    return Coalesce(
        Subquery(rows, output_field=DateTimeField()),
        Value(NEVER, output_field=DateTimeField()),
    )


def with_activity(agents: QuerySet[Any]) -> QuerySet[Any]:
    """``agents`` with ``last_activity`` (``NEVER`` for never)."""
    return agents.annotate(
        last_activity=Greatest(
            Coalesce("last_login", Value(NEVER, output_field=DateTimeField())),
            _latest(AgentSession, "last_seen"),
            _latest(ApiToken, "last_used"),
            output_field=DateTimeField(),
        )
    )


@dataclass(frozen=True)
class AgentRow:
    agent: Any
    last_activity: datetime.datetime | None


@dataclass(frozen=True)
class AgentPage:
    rows: list[AgentRow]
    total: int
    number: int
    pages: int


def inactive_cutoff(months: int, *, now: datetime.datetime | None = None) -> Any:
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(f"Give a number of months from 1 to {MAX_MONTHS}.")
    return (now or timezone.now()) - datetime.timedelta(days=30 * months)


def list_agents(
    actor: Agent | None,
    *,
    query: str = "",
    inactive_months: int | None = None,
    active_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> AgentPage:
    """Agents by login, with last activity; ``inactive_months``: only active agents
    without login or activity for that long (the inactive-agents report)."""
    require_agent_admin(actor)
    agents = with_activity(get_user_model().objects.order_by("username"))
    if query.strip():
        q = query.strip()
        agents = agents.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
        )
    if active_only or inactive_months is not None:
        agents = agents.filter(is_active=True)
    if inactive_months is not None:
        agents = agents.filter(last_activity__lt=inactive_cutoff(inactive_months))
    total = agents.count()
    pages = max(1, -(-total // per_page))
    number = min(max(1, page), pages)
    start = (number - 1) * per_page
    rows = [
        AgentRow(a, None if a.last_activity == NEVER else a.last_activity)
        for a in agents[start : start + per_page]
    ]
    return AgentPage(rows, total, number, pages)


def last_activity(agent: Any) -> datetime.datetime | None:
    found = with_activity(get_user_model().objects.filter(pk=agent.pk)).first()
    value = found.last_activity if found is not None else None
    return None if value in (None, NEVER) else value


def set_active(actor: Agent | None, agent_id: int, *, active: bool) -> list[Withdrawn]:
    """Deactivate (its sessions end at once, its API tokens refuse, what it held on
    tickets is withdrawn) or reactivate an agent; audited."""
    require_agent_admin(actor)
    agent = get_user_model().objects.filter(pk=agent_id).first()
    if agent is None:
        raise NotFound("No such agent.")
    return admin_actions.set_agent_active(actor, agent, active=active)


# --- deactivating inactive agents (the optional worker job) ---------------------------


@dataclass(frozen=True)
class InactiveRound:
    """What one round of ``inactive_round`` found: agents to warn now (the caller
    mails them, then ``mark_warned``), agents deactivated, warnings withdrawn."""

    to_warn: list[Any]
    deactivated: list[str]
    cleared: int


def inactive_round(
    *, months: int, grace_days: int, now: datetime.datetime | None = None
) -> InactiveRound:
    """Active agents (administrators excepted: nobody is locked out of the
    configuration) without login or activity for ``months``: those not warned yet
    are returned to be warned; those warned ``grace_days`` ago or longer and
    inactive since are deactivated (audited, as by an administrator: sessions
    end, what they held on tickets is withdrawn).  Warnings of agents active since
    are cleared."""
    now = now or timezone.now()
    cutoff = inactive_cutoff(months, now=now)
    agents = with_activity(
        get_user_model().objects.filter(is_active=True, is_superuser=False)
    ).annotate(
        warned=Subquery(
            AgentProfile.objects.filter(user=OuterRef("pk")).values(
                "inactivity_warned"
            )[:1]
        )
    )
    cleared = AgentProfile.objects.filter(
        user__in=[
            a.pk
            for a in agents.filter(warned__isnull=False)
            if a.last_activity > a.warned
        ]
    ).update(inactivity_warned=None)
    to_warn: list[Any] = []
    deactivated: list[str] = []
    for agent in agents.filter(last_activity__lt=cutoff).order_by("pk"):
        warned = (
            agent.warned
            if agent.warned and agent.last_activity <= agent.warned
            else None
        )
        if warned is None:
            to_warn.append(agent)
        elif warned <= now - datetime.timedelta(days=grace_days):
            admin_actions.set_agent_active(None, agent, active=False)
            admin_actions.record(
                None,
                "deactivated for inactivity",
                agent,
                object_type="agent",
                after={"months": months, "warned": warned.isoformat()},
            )
            deactivated.append(agent.get_username())
    return InactiveRound(to_warn, deactivated, cleared)


def mark_warned(agent: Any, *, now: datetime.datetime | None = None) -> None:
    AgentProfile.objects.update_or_create(
        user=agent, defaults={"inactivity_warned": now or timezone.now()}
    )
