"""Small inline messages for pipeline tests."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

_seq = itertools.count(1)


def mail(
    *,
    subject: str = "Question about an article",
    body: str = "Hello, the article about my village has an error.",
    sender: str = "Jane Doe <jane@example.net>",
    to: str = "info-en@helpline.localhost",
    cc: str = "",
    reply_to: str = "",
    in_reply_to: str = "",
    references: str = "",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = message_id or make_msgid(f"m{next(_seq)}", "example.net")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()
