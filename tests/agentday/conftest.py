from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from helpline.actions import admin
from helpline.models import OutboxMessage, Permission, Queue
from tests.support import make_agent, make_group, make_queue


@dataclass
class Team:
    queue: Queue
    secret: Queue  # a queue only alice reads
    alice: Any
    bob: Any
    carol: Any  # reads nothing


@pytest.fixture
def team(db) -> Team:
    group = make_group("info")
    queue = make_queue("info-en", group=group)
    hidden = make_group("oversight")
    secret = make_queue("oversight", group=hidden)
    alice, bob, carol = make_agent("alice"), make_agent("bob"), make_agent("carol")
    for agent in (alice, bob):
        admin.grant(group, [Permission.RW], agent=agent)
    admin.grant(hidden, [Permission.RW], agent=alice)
    return Team(queue, secret, alice, bob, carol)


def recipients() -> list[str]:
    return sorted(r for row in OutboxMessage.objects.all() for r in row.recipients)


def mails_to(address: str) -> list[bytes]:
    from helpline.blobstore import read_blob

    return [
        read_blob(row.raw)
        for row in OutboxMessage.objects.all()
        if address in row.recipients
    ]
