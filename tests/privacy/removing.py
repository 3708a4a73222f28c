"""What the retention, erasure and legal-hold tests share: holders of the right,
tickets made the way the system makes them (real mail, real replies), and a look
at every place a mail Helpline keeps or sends could still be."""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from django.utils import timezone

from helpline.actions import admin, privacy_rights
from helpline.actions.preferences import set_preferences
from helpline.actions.tickets import close_ticket
from helpline.blobstore import read_blob
from helpline.models import (
    Group,
    InboundMessage,
    OutboxMessage,
    Permission,
    Queue,
    Ticket,
)
from helpline.responses import replies
from tests.privacy.conftest import mail, receive
from tests.support import make_agent


@pytest.fixture
def clean_index(db):
    """An empty full-text index: the flush between committing tests empties the
    tables of models, not SQLite's FTS5 table, whose rows (and their words) from an
    earlier test would show up in the dump a test searches."""
    from helpline.search.base import get_backend

    backend = get_backend()
    backend.clear()
    backend.purge_removed()


def holder(login: str = "dpo", *, reads: Group | None = None) -> object:
    """An agent holding handle_personal_data, who may read the queues of ``reads``
    (and no ticket otherwise)."""
    agent = make_agent(login)
    privacy_rights.give(agent, privacy_rights.HANDLE_PERSONAL_DATA)
    if reads is not None:
        admin.grant(reads, [Permission.RO], agent=agent)
    return agent


def superuser(login: str = "root") -> object:
    """An administrator of everything, but without the right."""
    agent = make_agent(login)
    agent.is_superuser = agent.is_staff = True
    agent.save()
    return agent


def later(days: int) -> object:
    return timezone.now() + timedelta(days=days)


def keep_for(queue: Queue, days: int | None, action: str = "delete", *, junk=False):
    """The queue's retention, as an administrator holding the right sets it."""
    from helpline.actions.retention import set_queue_retention

    return set_queue_retention(
        holder(f"keeper{queue.pk}{days}{action}"),
        queue,
        days=days,
        action=action,
        junk=junk,
    )


def answered_and_closed(agent, raw: bytes, *, answer: str) -> Ticket:
    """A ticket from ``raw``, answered by ``agent`` (the reply quotes the mail and
    goes to the outbox) and closed."""
    ticket = receive(raw)
    replies.reply(agent, ticket.pk, text=answer)
    close_ticket(agent, ticket.pk, note="Answered.")
    return Ticket.objects.get(pk=ticket.pk)


def following(agent, queue: Queue) -> None:
    """The agent follows the queue: new tickets there are notified by mail (the
    notification quotes the ticket's title and the customer's words)."""
    set_preferences(agent, followed_queue_ids=[queue.pk])


def mail_texts() -> list[str]:
    """The decoded text of every mail in the outbox and of every received message
    kept: headers and text parts (a base64 body hides words from a look at the
    bytes)."""
    texts = []
    for blob in [
        *(m.raw for m in OutboxMessage.objects.select_related("raw")),
        *(m.raw for m in InboundMessage.objects.select_related("raw")),
    ]:
        message = BytesParser(policy=policy.default).parsebytes(read_blob(blob))
        texts.extend(str(v) for _, v in message.items())
        texts.extend(
            part.get_content()
            for part in message.walk()
            if part.get_content_maintype() == "text"
        )
    return texts


def in_mail(words: list[str]) -> list[str]:
    """The words that some kept or queued mail still has (case-insensitive)."""
    texts = [t.lower() for t in mail_texts()]
    return [w for w in words if any(w.lower() in t for t in texts)]


__all__ = ["mail", "receive"]
