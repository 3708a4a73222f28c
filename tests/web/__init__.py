"""Tests of the agent web interface (Django test client).

Shared here rather than in a conftest: ``web_settings`` puts the interface's settings in
place until they are in ``helpline.settings`` (it changes nothing once they are), and
``build_world`` makes the agents, queues and tickets most tests need, through actions.
"""

from __future__ import annotations

import copy
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helpline.web
from helpline.actions import admin
from helpline.actions.articles import NewArticle, NewAttachment
from helpline.actions.tickets import do_create_ticket
from helpline.models import ArticleChannel, Permission, Queue, SenderType, Ticket
from tests.support import make_agent, make_group, make_queue, make_ticket

WEB_DIR = Path(helpline.web.__file__).parent
CSP_MIDDLEWARE = "helpline.web.middleware.ContentSecurityPolicyMiddleware"
CONTEXT_PROCESSOR = "helpline.web.context.helpline"
PASSWORD = "correct horse battery staple"


def web_settings(settings: Any) -> None:
    """The settings the interface needs (listed in docs/web.md), on a settings object."""
    if CSP_MIDDLEWARE not in settings.MIDDLEWARE:
        middleware = list(settings.MIDDLEWARE)
        middleware.insert(1, CSP_MIDDLEWARE)
        settings.MIDDLEWARE = middleware
    templates = copy.deepcopy(settings.TEMPLATES)
    engine = templates[0]
    if str(WEB_DIR / "templates") not in [str(d) for d in engine["DIRS"]]:
        engine["DIRS"] = [*engine["DIRS"], WEB_DIR / "templates"]
    processors = engine["OPTIONS"]["context_processors"]
    if CONTEXT_PROCESSOR not in processors:
        processors.append(CONTEXT_PROCESSOR)
    if templates != settings.TEMPLATES:
        settings.TEMPLATES = templates
    static_dirs = [str(d) for d in getattr(settings, "STATICFILES_DIRS", [])]
    if str(WEB_DIR / "static") not in static_dirs:
        settings.STATICFILES_DIRS = [*static_dirs, WEB_DIR / "static"]
    settings.LOGIN_URL = "login"
    settings.LOGIN_REDIRECT_URL = "dashboard"


@dataclass
class World:
    alice: Any  # rw on Support (queues Info and Info::Sub)
    bob: Any  # rw on Support too
    eve: Any  # rw on Secret only
    info: Queue
    sub: Queue
    secret: Queue
    ticket: Ticket  # in Info, from a customer, with an attachment
    hidden: Ticket  # in Secret: alice and bob may not see it


def email_ticket(
    queue: Queue,
    *,
    title: str = "Question about an article",
    body: str = "Hello, I have a question.",
    customer: str = "customer@example.net",
    html: str = "",
    attachments: list[NewAttachment] | None = None,
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
            body_html=html,
            subject=title,
            from_addr=customer,
            to_addr=queue.system_address.email if queue.system_address else "",
            message_id=f"{title.replace(' ', '.')}@example.net",
            incoming=True,
            raw=f"From: {customer}\r\nSubject: {title}\r\n\r\n{body}\r\n".encode(),
            attachments=attachments or [],
        ),
    )
    return ticket


def png(width: int = 3, height: int = 2) -> bytes:
    """A valid grey PNG of the given size (for inline-image tests)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def build_world(*, passwords: bool = False) -> World:
    """Two agents on Support (Info, Info::Sub), one on Secret, a ticket in each.

    ``passwords``: give the agents ``PASSWORD`` (argon2 is slow; most tests log in
    with ``force_login``)."""
    support = make_group("Support")
    secret_group = make_group("Secret")
    info = make_queue(
        "Info", group=support, email="info@helpline.test", display_name="Info"
    )
    sub = make_queue("Info::Sub", group=support)
    secret = make_queue(
        "Secret", group=secret_group, email="secret@helpline.test", display_name="S"
    )
    password = PASSWORD if passwords else None
    alice = make_agent("alice", password=password, first_name="Alice", last_name="A")
    bob = make_agent("bob", password=password, first_name="Bob", last_name="B")
    eve = make_agent("eve", password=password, first_name="Eve", last_name="E")
    for agent in (alice, bob):
        admin.grant(support, [Permission.RW], agent=agent)
    admin.grant(secret_group, [Permission.RW], agent=eve)
    attachment = NewAttachment("report.pdf", "application/pdf", b"%PDF-1.4 test")
    ticket = email_ticket(info, attachments=[attachment])
    hidden = email_ticket(
        secret,
        title="Secret matter",
        body="TOP SECRET BODY",
        customer="whistle@example.org",
        html="<p>TOP SECRET HTML</p>",
        attachments=[NewAttachment("secret.txt", "text/plain", b"TOP SECRET FILE")],
    )
    return World(alice, bob, eve, info, sub, secret, ticket, hidden)


__all__ = [
    "PASSWORD",
    "World",
    "build_world",
    "email_ticket",
    "make_ticket",
    "png",
    "web_settings",
]
