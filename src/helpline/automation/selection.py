"""Which tickets a job finds: its search, its queues, its ages.

One function, ``job_tickets``, is what the preview lists and what a run works
through, so that the preview shows the tickets a run changes.  It is the search
module's own ``matching_tickets`` (docs/search.md: the same parser, the same
permission filter) for the job's owner, narrowed to the job's queues and ages, and,
for a job that acts once per ticket, without the tickets it acted on before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from helpline.models import AutomationJob, AutomationTicket, Ticket
from helpline.search import matching_tickets, parse_query

# Age fields of a job -> the ticket's column they count from.
AGES = {
    "created_days": "created",
    "changed_days": "changed",
    "pending_days": "pending_until",
    "closed_days": "closed_at",
}


def ages_q(job: AutomationJob, now: datetime) -> Q:
    condition = Q()
    for field, column in AGES.items():
        days = getattr(job, field)
        if days is not None:
            condition &= Q(**{f"{column}__lte": now - timedelta(days=days)})
    return condition


def job_tickets(
    job: AutomationJob,
    *,
    now: datetime | None = None,
    candidates: list[int] | None = None,
    queue_ids: list[int] | None = None,
) -> QuerySet[Ticket]:
    """The tickets ``job`` acts on at ``now``: unordered; ``candidates`` (an event
    run's tickets) narrow them further."""
    now = now or timezone.now()
    if queue_ids is None:
        queue_ids = list(job.queues.values_list("pk", flat=True))
    tickets = matching_tickets(job.owner, parse_query(job.query)).filter(
        ages_q(job, now), queue_id__in=queue_ids
    )
    if candidates is not None:
        tickets = tickets.filter(pk__in=candidates)
    if job.once_per_ticket:
        tickets = tickets.exclude(
            Exists(
                AutomationTicket.objects.filter(
                    job_id=job.pk, ok=True, ticket_id=OuterRef("pk")
                )
            )
        )
    return tickets


def condition_of(job: AutomationJob, **kwargs: Any) -> Q:
    """``job_tickets`` as a condition (for ``actions.removal``'s ``where``)."""
    return Q(pk__in=job_tickets(job, **kwargs).values("pk"))
