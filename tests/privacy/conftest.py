"""An organisation with one queue fed by real mail, for the data-protection tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest

from helpline.actions import admin
from helpline.mail.intake import receive_and_dispatch
from helpline.models import InboundStatus, Permission, Queue, Ticket
from tests.support import make_agent, make_group, make_queue

INFO = "info@helpline.localhost"
# Larger than the default inline limit (256 KiB): such an attachment lives in the blob store's files.
BIG = 400 * 1024


@dataclass
class Org:
    info: Queue
    agent: Any  # rw on the queue's group: reads everything


@pytest.fixture
def org(db) -> Org:
    group = make_group("privacy")
    info = make_queue("info", group=group, email=INFO)
    make_queue("Raw", group=group)
    agent = make_agent("reader")
    admin.grant(group, [Permission.RW], agent=agent)
    return Org(info=info, agent=agent)


def attachment_bytes(word: str, size: int = BIG) -> bytes:
    """Bytes that contain ``word`` once and are unlike any other test's."""
    head = f"%PDF-1.4 {word} ".encode()
    return head + os.urandom(size // 2).hex().encode()[: size - len(head)]


def mail(
    *,
    sender: str = "Jane Roe <jane.roe@example.net>",
    subject: str = "A question",
    body: str = "Hello.",
    attachments: dict[str, bytes] | None = None,
    to: str = INFO,
    cc: str = "",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{os.urandom(8).hex()}@example.net>"
    msg.set_content(body)
    msg.add_alternative(f"<p>{body}</p>", subtype="html")
    for name, data in (attachments or {}).items():
        msg.add_attachment(data, "application", "pdf", filename=name)
    return msg.as_bytes()


def receive(raw: bytes, to: str = INFO) -> Ticket:
    message = receive_and_dispatch(raw, transport="pipe", envelope_recipients=[to])
    assert message.status == InboundStatus.PROCESSED, message.error
    assert message.ticket is not None
    return message.ticket
