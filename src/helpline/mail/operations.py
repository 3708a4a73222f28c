"""What administrators do to mail in and out: replay received messages, queue failed
outgoing ones again.  Each is written to the administration log; which messages an
administrator may touch is decided by ``actions.admin`` (``inbound_readable_q``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from helpline.actions.admin import inbound_readable_q, record
from helpline.mail import outbound, postmaster
from helpline.models import InboundMessage, InboundStatus, OutboxMessage, OutboxStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any


def replay_inbound(actor: Agent, message_ids: Iterable[int]) -> int:
    """Process received messages again (``postmaster.replay``), only those the actor
    may read and that are not final; returns how many ended processed."""
    pending = InboundMessage.objects.filter(
        inbound_readable_q(actor), pk__in=list(message_ids)
    ).exclude(status__in=[InboundStatus.PROCESSED, InboundStatus.REJECTED])
    done = 0
    for message in pending:
        result = postmaster.replay(message.pk)
        record(actor, "replayed", message, after={"status": result.status})
        done += result.status == InboundStatus.PROCESSED
    return done


def retry_outbox(actor: Agent, outbox_ids: Iterable[int]) -> int:
    """Queue failed outgoing messages again (``outbound.retry``); returns how many.
    Resending is an operation on the outbox: no content is shown by it."""
    n = 0
    for row in OutboxMessage.objects.filter(
        pk__in=list(outbox_ids), status=OutboxStatus.FAILED
    ):
        outbound.retry(row.pk)
        record(actor, "queued again", row)
        n += 1
    return n
