"""Building test data through the domain actions, as the style guide asks."""

from __future__ import annotations

import itertools
from typing import Any

from django.db import connection

from helpline.actions import admin
from helpline.actions.articles import NewArticle
from helpline.actions.tickets import do_create_ticket
from helpline.models import ArticleChannel, Group, Queue, SenderType, Ticket

_seq = itertools.count(1)


def make_agent(login: str | None = None, **kwargs: Any) -> Any:
    login = login or f"agent{next(_seq)}"
    return admin.create_agent(login, email=f"{login}@example.org", **kwargs)


def make_group(name: str | None = None) -> Group:
    return admin.create_group(name or f"group{next(_seq)}")


def make_queue(
    name: str | None = None, *, group: Group | None = None, **kw: Any
) -> Queue:
    return admin.create_queue(
        name or f"queue{next(_seq)}", group=group or make_group(), **kw
    )


def make_ticket(
    queue: Queue,
    *,
    title: str = "Question about an article",
    body: str = "Hello, I have a question.",
    customer: str = "customer@example.net",
    **kwargs: Any,
) -> Ticket:
    ticket, _ = do_create_ticket(
        None,
        queue=queue,
        title=title,
        customer_email=customer,
        article=NewArticle(
            channel=ArticleChannel.EMAIL,
            sender_type=SenderType.CUSTOMER,
            body_text=body,
            subject=title,
            from_addr=customer,
            incoming=True,
        ),
        **kwargs,
    )
    return ticket


def database_url() -> str:
    """The test database as a URL, for a subprocess (``helpline`` or a test worker)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    return f"postgres://{user}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"
