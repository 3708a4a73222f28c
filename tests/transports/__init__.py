"""Tests of the transports: the pipe, the LMTP/SMTP listener, IMAP and POP3 fetching.

Real peers only: the ``helpline`` console script as a process, ``smtplib`` against the
listener, a private Dovecot for IMAP and POP3 (``tests/transports/dovecot.py``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from helpline.models import InboundMessage, InboundStatus
from tests.mail.messages import mail
from tests.support import database_url

HELPLINE = str(Path(sys.executable).parent / "helpline")


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a ``helpline`` process on the test database."""
    env = {
        **os.environ,
        "HELPLINE_DATABASE_URL": database_url(),
        "HELPLINE_DATA_DIR": str(tmp_path / "data"),
        "HELPLINE_ATTACHMENT_DIR": str(tmp_path / "media"),
        "HELPLINE_JOBS_IMMEDIATE": "1",
        "HELPLINE_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def wait_for_status(pk: int, *statuses: str, timeout: float = 15.0) -> InboundMessage:
    """The inbound message once it has reached one of ``statuses`` (processing runs
    in another thread or process)."""
    statuses = statuses or (InboundStatus.PROCESSED,)
    deadline = time.monotonic() + timeout
    while True:
        message = InboundMessage.objects.get(pk=pk)
        if message.status in statuses or time.monotonic() > deadline:
            return message
        time.sleep(0.05)


def crlf(raw: bytes) -> bytes:
    """A message with the CRLF line ends it has on the wire and in a mailbox."""
    return raw.replace(b"\n", b"\r\n")


def three_messages() -> list[bytes]:
    return [crlf(mail(subject=f"Question {n}")) for n in (1, 2, 3)]
