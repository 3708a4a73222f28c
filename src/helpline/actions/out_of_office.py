"""Out of office with a substitute (docs/web.md, "Out of office").

An agent sets a period (start and end in its own time zone) and a substitute.  While
the period runs:

- notifications meant for the agent also go to the substitute, for tickets the
  substitute may read (``responses.notify`` checks access and the substitute's own
  notification preferences as for any recipient);
- a ticket assigned to the agent by someone else (``locks.set_owner``) goes to the
  substitute instead, if the substitute may own it there; the history says
  "substitute for LOGIN (out of office)".  An agent taking a ticket itself is not
  redirected.
- colleagues see "out of office until ..." next to the agent's name in owner pickers.

Only the agent sets its own out-of-office; one substitute, no chains (a substitute
who is away too does not pass the work on).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from helpline.actions.access import may, may_in_queue
from helpline.errors import InvalidInput
from helpline.models import OutOfOffice, Permission, Ticket

audit = logging.getLogger("helpline.audit")


def checked_zone(name: str | None) -> str:
    """A valid IANA time zone name; the site's time zone when not given."""
    name = (name or "").strip() or settings.TIME_ZONE
    if name not in available_timezones() and name != "UTC":
        raise InvalidInput(
            f"Unknown time zone {name!r}; use a name like Europe/Berlin."
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"Unknown time zone {name!r}.") from exc
    return name


def _aware(value: datetime, zone: str) -> datetime:
    if timezone.is_aware(value):
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


def set_out_of_office(
    agent: Any,
    *,
    start: datetime,
    end: datetime,
    substitute: str | None,
    time_zone: str | None = None,
) -> OutOfOffice:
    """Set (or replace) the agent's own out-of-office.  ``start`` and ``end`` without
    a time zone are read in ``time_zone``; ``substitute`` is a login or None (then
    nobody stands in; the period still shows to colleagues)."""
    zone = checked_zone(time_zone)
    begins, ends = _aware(start, zone), _aware(end, zone)
    if ends <= begins:
        raise InvalidInput("The out-of-office period must end after it starts.")
    stand_in = None
    if substitute:
        stand_in = (
            get_user_model()
            .objects.filter(username=substitute.strip(), is_active=True)
            .first()
        )
        if stand_in is None:
            raise InvalidInput(f"No active agent with login {substitute!r}.")
        if stand_in.pk == agent.pk:
            raise InvalidInput("You cannot be your own substitute.")
    with transaction.atomic():
        row, _created = OutOfOffice.objects.update_or_create(
            agent=agent,
            defaults={
                "start": begins,
                "end": ends,
                "time_zone": zone,
                "substitute": stand_in,
            },
        )
    audit.info(
        "agent %s set out of office %s to %s, substitute %s",
        agent.get_username(),
        begins.isoformat(),
        ends.isoformat(),
        stand_in.get_username() if stand_in else "none",
    )
    return row


def clear_out_of_office(agent: Any) -> bool:
    deleted, _ = OutOfOffice.objects.filter(agent=agent).delete()
    if deleted:
        audit.info("agent %s cleared out of office", agent.get_username())
    return bool(deleted)


def get_out_of_office(agent: Any) -> OutOfOffice | None:
    return OutOfOffice.objects.select_related("substitute").filter(agent=agent).first()


def away_now(agent_ids: Iterable[int]) -> dict[int, OutOfOffice]:
    """{agent id: out-of-office} of those agents away right now (one query)."""
    ids = list(agent_ids)
    if not ids:
        return {}
    now = timezone.now()
    return {
        row.agent_id: row
        for row in OutOfOffice.objects.select_related("substitute").filter(
            agent_id__in=ids, start__lte=now, end__gt=now
        )
    }


def substitutes_for(people: Iterable[Any]) -> list[tuple[Any, Any]]:
    """(substitute, absent agent) for those of ``people`` away now with an active
    substitute (one query).  Access is the caller's to check."""
    by_pk = {p.pk: p for p in people}
    return [
        (row.substitute, by_pk[row.agent_id])
        for row in away_now(by_pk).values()
        if row.substitute is not None and row.substitute.is_active
    ]


def assignee(actor: Any, ticket: Ticket, new_owner: Any) -> tuple[Any, str]:
    """Who becomes owner when ``actor`` assigns ``ticket`` to ``new_owner``, and the
    reason for the history ("" when it is ``new_owner``)."""
    if actor is not None and actor.pk == new_owner.pk:
        return new_owner, ""
    row = away_now([new_owner.pk]).get(new_owner.pk)
    stand_in = row.substitute if row is not None else None
    if (
        stand_in is None
        or not stand_in.is_active
        or not may_in_queue(stand_in, ticket.queue, Permission.OWNER)
        or not may(stand_in, ticket, Permission.RO)
    ):
        return new_owner, ""
    return stand_in, f"substitute for {new_owner.get_username()} (out of office)"


def with_absence(agents: QuerySet[Any]) -> QuerySet[Any]:
    """``agents`` annotated with ``away_until``: the end of an out-of-office running
    now, else None (for owner pickers; no extra query)."""
    now = timezone.now()
    return agents.annotate(
        away_until=Subquery(
            OutOfOffice.objects.filter(
                agent=OuterRef("pk"), start__lte=now, end__gt=now
            ).values("end")[:1]
        )
    )
