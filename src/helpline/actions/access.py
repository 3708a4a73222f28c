"""The only place that answers "may agent A do X on ticket T / in queue Q".

Permissions are granted per group (a queue belongs to one group), to an agent directly or
through a role; they add up and there is no deny.  ``rw`` implies every permission except
``override_lock`` and ``redact``.  A grant is the only way to a ticket: owning it, being responsible
for it or watching it gives no access of its own (when access is withdrawn, those go
too: ``actions.withdrawal``).  Superusers get no implicit access to tickets: an
administrator who needs to read a queue grants it, which is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from helpline.errors import PermissionDenied, TicketNotFound
from helpline.models import Grant, Permission, Queue, Ticket
from helpline.models.tickets import visible_tickets_q as visible_tickets_q
from helpline.replica import primary_values

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

_CACHE_ATTR = "_helpline_group_permissions"
READ = (Permission.RO, Permission.RW)


def _grants_of(agent: Agent) -> QuerySet[Grant]:
    return Grant.objects.held_by(agent)


def group_permissions(agent: Agent) -> dict[int, frozenset[str]]:
    """{group id: permissions} for the agent, one query, cached on the agent object."""
    cached: dict[int, frozenset[str]] | None = getattr(agent, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    result: dict[int, set[str]] = {}
    if agent.is_active:
        for group_id, perm in _grants_of(agent).values_list("group_id", "permission"):
            result.setdefault(group_id, set()).add(perm)
    frozen = {gid: frozenset(perms) for gid, perms in result.items()}
    setattr(agent, _CACHE_ATTR, frozen)
    return frozen


def forget_permissions(agent: Agent) -> None:
    """Drop the cached permissions (after grants changed within one request)."""
    if hasattr(agent, _CACHE_ATTR):
        delattr(agent, _CACHE_ATTR)


def _implied(perms: frozenset[str], need: str) -> bool:
    if need in Permission.explicit_only():
        return need in perms
    return need in perms or Permission.RW in perms


def check_registered(need: str) -> str:
    if need not in Permission.values:
        raise ValueError(f"unknown permission {need!r}")
    return need


def may_in_queue(agent: Agent, queue: Queue, need: str) -> bool:
    check_registered(need)
    return _implied(group_permissions(agent).get(queue.group_id, frozenset()), need)


def may(agent: Agent, ticket: Ticket, need: str) -> bool:
    """May ``agent`` do what ``need`` allows on ``ticket``?  Only a grant on the
    group of the ticket's queue says so; owner, responsible and watcher are no
    grants."""
    check_registered(need)
    return bool(agent.is_active) and may_in_queue(agent, ticket.queue, need)


def require(agent: Agent, ticket: Ticket, need: str) -> None:
    if not may(agent, ticket, need):
        raise PermissionDenied(
            f"You need the '{need}' permission on queue {ticket.queue.name} "
            f"to do this on ticket {ticket.number}."
        )


def require_in_queue(agent: Agent, queue: Queue, need: str) -> None:
    if not may_in_queue(agent, queue, need):
        raise PermissionDenied(
            f"You need the '{need}' permission on queue {queue.name}."
        )


def readable_group_ids(agent: Agent) -> QuerySet[Grant, Any] | list[Any]:
    """The groups whose queues the agent may read, as a subquery (never a long list;
    the primary's list while a view reads from the replica: helpline/replica.py)."""
    return Grant.objects.readable_group_ids(agent)


def readable_queue_ids(agent: Agent) -> list[int]:
    """Every queue (valid or not) of a group the agent may read.  All their tickets are
    visible to the agent, so counting or listing by these ids alone is exact — and
    lets the database answer from the queue-view index (see ``visible_tickets_q``)."""
    if not agent.is_active or agent.pk is None:
        return []
    return list(
        Queue.objects.filter(group_id__in=readable_group_ids(agent)).values_list(
            "pk", flat=True
        )
    )


@dataclass(frozen=True)
class ReadingAccess:
    """The queues an agent may read, as the search index names them
    (``reading_access``)."""

    # The groups of those queues; their tickets' index entries name them...
    group_ids: tuple[int, ...]
    # ... except those of these queues, which changed group since their entries
    # were built (``Queue.search_group``): named by the queue itself.
    moved_queue_ids: tuple[int, ...]
    # The agent reads every queue: nothing to narrow.
    everything: bool


def reading_access(agent: Agent) -> ReadingAccess:
    """What ``readable_queue_ids`` says, for narrowing index lookups
    (``SearchBackend.narrow_to``): one query."""
    if not agent.is_active or agent.pk is None:
        return ReadingAccess((), (), everything=False)
    rows = Queue.objects.annotate(
        readable=ExpressionWrapper(
            Q(group_id__in=readable_group_ids(agent)), output_field=BooleanField()
        )
    ).values_list("pk", "group_id", "search_group_id", "readable")
    groups: set[int] = set()
    moved: list[int] = []
    everything = True
    for pk, group_id, search_group_id, readable in rows:
        if not readable:
            everything = False
        elif search_group_id == group_id:
            groups.add(group_id)
        else:
            moved.append(pk)
    return ReadingAccess(tuple(sorted(groups)), tuple(sorted(moved)), everything)


def queues_with(agent: Agent, need: str = Permission.RO) -> QuerySet[Queue]:
    """Valid queues in which the agent holds ``need`` (directly or implied)."""
    check_registered(need)
    wanted = [need] if need in Permission.explicit_only() else [need, Permission.RW]
    if not agent.is_active:
        return Queue.objects.none()
    # From the primary while a view reads from the replica (helpline/replica.py).
    groups = primary_values(_grants_of(agent).filter(permission__in=wanted), "group_id")
    return Queue.objects.filter(valid=True, group_id__in=groups)


def access_ticket(
    agent: Agent,
    ticket_id: int | None = None,
    *,
    number: str | None = None,
    need: str = Permission.RO,
    for_update: bool = False,
) -> Ticket:
    """Fetch a ticket the agent may see, and check ``need`` on it.

    A ticket the agent may not see raises ``TicketNotFound``, exactly like a ticket that
    does not exist, so that nobody learns which numbers exist.  A visible ticket on which
    ``need`` is missing raises ``PermissionDenied``.
    """
    check_registered(need)
    qs = Ticket.objects.select_related(
        "queue", "state", "owner", "responsible", "customer"
    )
    if for_update:
        qs = qs.select_for_update(of=("self",))
    lookup = {"pk": ticket_id} if ticket_id is not None else {"number": number}
    ticket = qs.filter(**lookup).first()
    if ticket is None or not may(agent, ticket, Permission.RO):
        # A number the agent gave is said back; an internal id never is: it may come
        # from another ticket (the one a ticket was merged into) and would tell which
        # hidden ticket that is.
        raise TicketNotFound(
            f"Ticket {number} not found." if number is not None else "Ticket not found."
        )
    if need != Permission.RO:
        require(agent, ticket, need)
    return ticket
