"""The people and the ticket the entry-point tests of redaction share: an agent who
may redact, one with redact in another group only, and a customer's mail with an
identity document."""

from __future__ import annotations

from typing import Any

from helpline.actions import admin
from helpline.models import Permission, Ticket
from tests.privacy.conftest import Org, attachment_bytes, mail, receive
from tests.support import make_agent, make_group

TEXT = "Passport number Glorbex 9917."


def make_lead(org: Org) -> Any:
    """rw and redact on the queue's group (rw does not imply redact)."""
    agent = make_agent("lead")
    admin.grant(org.info.group, [Permission.RW, Permission.REDACT], agent=agent)
    return agent


def make_stranger() -> Any:
    """Redact and rw, but in another group: the ticket is not theirs to see."""
    agent = make_agent("stranger")
    admin.grant(make_group("other"), [Permission.RW, Permission.REDACT], agent=agent)
    return agent


def documents_ticket() -> Ticket:
    return receive(
        mail(
            subject="My documents",
            body=TEXT,
            attachments={"passport.pdf": attachment_bytes("Glorbex", 4096)},
        )
    )
