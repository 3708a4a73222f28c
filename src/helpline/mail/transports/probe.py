"""Test a mail account's settings before saving them: log in, open the folder, and
say in plain words what the server answered (docs/administration.md).

Bounded by ``TEST_TIMEOUT`` seconds per step; the password never appears in the
answer.  Nothing is stored or fetched.
"""

from __future__ import annotations

import imaplib
import poplib
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from helpline.actions import mail_admin
from helpline.actions.admin import stored_mail_password
from helpline.actions.mail_admin import AccountSettings
from helpline.errors import InvalidInput
from helpline.mail.transports.accounts import test_account
from helpline.models import MailAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

# A test of a connection waits this long for the server, at most, per step.
TEST_TIMEOUT = 10.0


@dataclass
class ConnectionTest:
    ok: bool
    text: str  # in plain words, never with the password


def _plain(exc: BaseException) -> str:
    """What went wrong, as a sentence an administrator can act on."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return _("The server did not answer within %(s)d seconds.") % {
            "s": int(TEST_TIMEOUT)
        }
    if isinstance(exc, socket.gaierror):
        return _("The host name could not be found.")
    if isinstance(exc, ConnectionRefusedError):
        return _("The server refused the connection (is the port right?).")
    if isinstance(exc, ssl.SSLError):
        return _("The secure connection failed: %(reason)s") % {
            "reason": exc.reason or exc.__class__.__name__
        }
    words = str(exc)
    if isinstance(exc, imaplib.IMAP4.error | poplib.error_proto):
        words = words.removeprefix("b'").removeprefix('b"').rstrip("'\"")
        return _("The server answered: %(answer)s") % {"answer": words}
    if isinstance(exc, OSError):
        return _("The connection failed: %(reason)s") % {
            "reason": exc.strerror or words or exc.__class__.__name__
        }
    return _("The test failed: %(reason)s") % {"reason": words or type(exc).__name__}


def test_connection(
    actor: Agent | None, values: AccountSettings, *, account: MailAccount | None
) -> ConnectionTest:
    """Log in with ``values`` (the stored password where none is given) and open the
    folder; nothing is saved or fetched, the server's answer is returned in words."""
    mail_admin.require_site_admin(actor, "mailaccount")
    mail_admin.check_account(values, account=account or MailAccount())
    probe = MailAccount()
    mail_admin.apply_settings(probe, values)
    try:
        probe.password = values.password or (
            stored_mail_password(account.pk, probe) if account else ""
        )
    except InvalidInput as refusal:
        return ConnectionTest(ok=False, text=str(refusal))
    try:
        result = test_account(probe, timeout=TEST_TIMEOUT)
    except Exception as exc:  # every failure is an answer for the administrator
        text = _plain(exc)
        if probe.password:
            text = text.replace(probe.password, "********")
        return ConnectionTest(ok=False, text=text)
    return ConnectionTest(ok=True, text=_("Connected: %(result)s") % {"result": result})


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
