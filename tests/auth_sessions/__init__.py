"""Helpers of the session and password reset tests (also used by tests/security)."""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any

from django.urls import reverse

from helpline.blobstore import read_blob
from helpline.models import OutboxMessage
from tests.web import PASSWORD

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
LINK = re.compile(r"https?://\S+/password-reset/[^/\s]+/[^/\s]+/")


def log_in(client: Any, login: str, password: str = PASSWORD, **extra: Any) -> Any:
    response = client.post(
        reverse("login"), {"username": login, "password": password}, **extra
    )
    assert response.status_code == 302, response.content[:500]
    return response


def ask_reset(client: Any, email: str, **extra: Any) -> Any:
    return client.post(reverse("password-reset"), {"email": email}, **extra)


def reset_mails(to: str) -> list[bytes]:
    """The raw reset mails queued in the outbox for ``to``, oldest first."""
    return [
        read_blob(m.raw)
        for m in OutboxMessage.objects.order_by("id")
        if to in m.recipients
    ]


def text_of(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def link_in(raw: bytes) -> str:
    """The path of the reset link in a mail."""
    match = LINK.search(text_of(raw))
    assert match is not None, raw
    return "/" + match.group(0).split("/", 3)[3]
