"""Legal hold: a ticket that must be kept (a court case, an authority's request)
is removed by neither retention nor an erasure (``actions.removal`` skips it and
reports it as held).

Setting and releasing a hold is for holders of ``handle_personal_data`` who may
read the ticket; each needs a reason, which the ticket's history keeps.  Every agent
who reads the ticket sees that it is held.  docs/data-protection.md.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from helpline.actions import privacy_rights
from helpline.actions.access import access_ticket
from helpline.actions.history import record
from helpline.errors import Conflict, InvalidInput
from helpline.models import HistoryType, Permission, Ticket

MAX_REASON = 500


def _reason(text: str) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise InvalidInput("Give the reason for the legal hold.")
    return reason[:MAX_REASON]


def _change(
    actor: Any,
    ticket_id: int | None,
    number: str | None,
    *,
    hold: bool,
    reason: str,
    history: HistoryType,
) -> Ticket:
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    why = _reason(reason)
    with transaction.atomic():
        ticket = access_ticket(
            actor, ticket_id, number=number, need=Permission.RO, for_update=True
        )
        if ticket.legal_hold == hold:
            state = "is under" if hold else "is not under"
            raise Conflict(f"Ticket {ticket.number} {state} legal hold already.")
        # Not a change of the ticket's course: its change time (from which a junk
        # queue's retention counts) stays; its version moves (ETags, the zoom).
        Ticket.objects.filter(pk=ticket.pk).update(
            legal_hold=hold, version=F("version") + 1
        )
        ticket.refresh_from_db(fields=["legal_hold", "version"])
        record(ticket, history, actor, reason=why)
    return ticket


def set_legal_hold(
    actor: Any,
    ticket_id: int | None = None,
    *,
    number: str | None = None,
    reason: str,
) -> Ticket:
    """Put the ticket (by id or number) under legal hold: nothing removes it until
    it is released."""
    return _change(
        actor,
        ticket_id,
        number,
        hold=True,
        reason=reason,
        history=HistoryType.LEGAL_HOLD,
    )


def release_legal_hold(
    actor: Any,
    ticket_id: int | None = None,
    *,
    number: str | None = None,
    reason: str,
) -> Ticket:
    """Release the ticket's legal hold: retention and erasure apply to it again."""
    return _change(
        actor,
        ticket_id,
        number,
        hold=False,
        reason=reason,
        history=HistoryType.LEGAL_HOLD_RELEASED,
    )
