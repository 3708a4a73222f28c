"""A help desk for the spam tests: a queue with an address, the default queue, a junk
queue (kept 30 days by retention), an agent who may work in all of them, and mail
received through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from helpline.actions import admin
from helpline.actions.preferences import set_preferences
from helpline.mail.intake import receive_and_dispatch
from helpline.models import (
    AutoResponse,
    AutoResponseType,
    InboundMessage,
    Permission,
    Queue,
)
from tests.privacy.removing import keep_for
from tests.support import make_agent, make_group, make_queue

ADDRESS = "info@helpline.localhost"


@dataclass
class Desk:
    info: Queue
    raw: Queue
    junk: Queue
    agent: object


def make_desk() -> Desk:
    group = make_group("Support")
    info = make_queue("Info", group=group, email=ADDRESS)
    raw = make_queue("Raw", group=group)
    junk = make_queue("Junk", group=group)
    keep_for(junk, 30, junk=True)
    junk.refresh_from_db()
    agent = make_agent("alice")
    admin.grant(group, [Permission.RW], agent=agent)
    # Alice follows every queue: a notification of a new ticket would reach her.
    set_preferences(agent, followed_queue_ids=[info.pk, raw.pk, junk.pk])
    # Every queue answers a new ticket: an auto-response would be queued.
    response = AutoResponse.objects.create(
        name="thanks",
        type=AutoResponseType.REPLY,
        subject="We received your mail",
        text="Thank you.",
    )
    response.queues.add(info, raw, junk)
    return Desk(info=info, raw=raw, junk=junk, agent=agent)


def deliver(raw: bytes, *, transport: str = "lmtp") -> InboundMessage:
    """Received as the LMTP listener (or another transport) stores it, processed."""
    return receive_and_dispatch(raw, transport=transport, envelope_recipients=[ADDRESS])
