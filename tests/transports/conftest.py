"""Fixtures for the transport tests: an organisation to deliver to, a real Dovecot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from helpline.mail.transports import accounts
from helpline.models import MailAccount, Queue
from tests.support import make_group, make_queue
from tests.transports import dovecot as private_dovecot
from tests.transports.dovecot import Dovecot
from tests.transports.postfix import postfix as private_postfix

# The session's private Dovecot (IMAP and POP3), see tests/transports/dovecot.py.
dovecot = private_dovecot.dovecot
# A private Postfix per test, see tests/transports/postfix.py.
postfix = private_postfix


@dataclass
class Org:
    info: Queue  # info-en@helpline.localhost
    press: Queue  # press@helpline.localhost
    raw: Queue  # the default queue


@pytest.fixture
def org(db) -> Org:
    group = make_group("mail")
    return Org(
        info=make_queue("info-en", group=group, email="info-en@helpline.localhost"),
        press=make_queue("press", group=group, email="press@helpline.localhost"),
        raw=make_queue("Raw", group=group),
    )


@pytest.fixture
def mailbox(dovecot: Dovecot) -> tuple[str, str]:
    """A Dovecot user of this test's own: (login, password)."""
    return dovecot.add_user()


@pytest.fixture
def make_account(
    dovecot: Dovecot, mailbox: tuple[str, str]
) -> Callable[..., MailAccount]:
    """A mail account on the private Dovecot, for this test's mailbox."""

    def make(protocol: str = "imap", **kwargs: Any) -> MailAccount:
        user, password = mailbox
        port = dovecot.pop3_port if protocol.startswith("pop3") else dovecot.imap_port
        return accounts.create_account(
            kwargs.pop("name", f"{protocol}-{user}"),
            protocol=protocol,
            host=dovecot.host,
            port=port,
            username=user,
            password=kwargs.pop("password", password),
            **kwargs,
        )

    return make
