"""Tests of ticket search: the syntax, both index backends, indexing after commit.

Test data is made through the actions; the index is filled the way it is in
production, by the ``on_ticket_changed`` subscriber after commit (``committed()`` runs
the commit callbacks of a block, as a real commit would; Huey runs jobs at once here).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from django.db import connection
from django.test import TestCase

from helpline.actions import admin, events
from helpline.actions.articles import NewArticle, NewAttachment, add_article
from helpline.models import ArticleChannel, Permission, SenderType
from helpline.search import indexer, search_tickets
from helpline.search.base import forget_index_state, get_backend


def search_index() -> Iterator[None]:
    """Body of each module's autouse fixture: an empty index, subscribed to changes.

    The index tables are not Django models, so a transactional test's flush leaves
    them as they were; each test starts from an empty index instead.
    """
    get_backend().clear()
    forget_index_state()  # a test may have lowered the index's complete format
    # events.ticket_changed keeps a pending set on the connection until its on-commit
    # flush runs; a rolled-back test transaction never runs it, and the stale set would
    # swallow every later change.  (Production has the same problem after any
    # rollback; reported to the owner of actions/events.py.)
    setattr(connection, events._PENDING_ATTR, None)
    was_registered = indexer.enqueue_reindex in events.on_ticket_changed
    indexer.register()
    yield
    if not was_registered:
        indexer.unregister()
    get_backend().clear()  # after a transactional test, for whoever comes next


def committed() -> AbstractContextManager[Any]:
    """Run the on-commit callbacks (indexing) of the block at its end."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def numbers(agent: Any, query: str, **kwargs: Any) -> list[str]:
    """Ticket numbers found, in result order."""
    from helpline.models import Ticket

    ids = search_tickets(agent, query, **kwargs).ticket_ids
    by_id = dict(Ticket.objects.filter(pk__in=ids).values_list("pk", "number"))
    return [by_id[i] for i in ids]


def reader_of(group: Any, login: str) -> Any:
    from tests.support import make_agent

    agent = make_agent(login)
    admin.grant(group, [Permission.RW], agent=agent)
    return agent


def email_from(
    agent: Any,
    ticket_id: int,
    *,
    body: str,
    sender: str = "customer@example.net",
    to: str = "info@example.org",
    cc: str = "",
    subject: str = "",
    files: tuple[str, ...] = (),
) -> None:
    """Record an incoming email article (with attachments named ``files``)."""
    add_article(
        agent,
        ticket_id,
        NewArticle(
            channel=ArticleChannel.EMAIL,
            sender_type=SenderType.CUSTOMER,
            incoming=True,
            body_text=body,
            subject=subject,
            from_addr=sender,
            to_addr=to,
            cc_addr=cc,
            attachments=[
                NewAttachment(name, "application/octet-stream", name.encode())
                for name in files
            ],
        ),
    )
