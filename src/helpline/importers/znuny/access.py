"""Access Znuny gave that Helpline does not: reported after the tickets, not granted.

Znuny lets an agent open a ticket it owns, is responsible for or watches even without
a permission on the ticket's queue (its Ticket::Permission modules OwnerCheck,
ResponsibleCheck and WatcherCheck, on by default).  In Helpline a grant is the only way
to a ticket (``actions.access``), so that, when access is withdrawn, nothing is left
behind.  After an import those agents no longer see those tickets; this phase counts
them, per relation, with examples, so that an administrator can grant the queue where
that is wanted (docs/migrating-from-znuny.md).  It reads Helpline's own tables: one
query per relation, whatever the number of tickets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from helpline.models import Grant, Ticket, TicketWatcher

if TYPE_CHECKING:
    from helpline.importers.znuny.runner import Context, Phase

KIND = "znuny_only_access"
EXAMPLES = 20


def _reading_grant(agent_field: str, group_field: str) -> Exists:
    """True where the agent in ``agent_field`` holds a reading grant (own or through
    a valid role) on the group in ``group_field`` of the outer row."""
    agent = OuterRef(agent_field)
    return Exists(
        Grant.objects.reading().filter(
            Q(agent_id=agent) | Q(role__members=agent, role__valid=True),
            group_id=OuterRef(group_field),
            group__valid=True,
        )
    )


def report_lost_access(ctx: Context) -> None:
    for relation in ("owner", "responsible"):
        lost = (
            Ticket.objects.filter(
                **{f"{relation}__isnull": False, f"{relation}__is_active": True}
            )
            .exclude(_reading_grant(f"{relation}_id", "queue__group_id"))
            .values_list("number", f"{relation}__username")
        )
        _count(ctx, relation, lost)
    watched = (
        TicketWatcher.objects.filter(agent__is_active=True)
        .exclude(_reading_grant("agent_id", "ticket__queue__group_id"))
        .values_list("ticket__number", "agent__username")
    )
    _count(ctx, "watcher", watched)


def _count(ctx: Context, relation: str, rows: QuerySet[Any, Any]) -> None:
    total = rows.count()
    if not total:
        return
    report = ctx.report[KIND]
    reason = f"{relation} without a grant to read the queue: no access in Helpline"
    report.problems += total
    report.reasons[reason] += total
    for number, login in rows.order_by("pk")[:EXAMPLES]:
        report.examples.append(f"ticket {number}: {relation} {login}")


PHASES: list[Phase] = [("access report", report_lost_access)]
