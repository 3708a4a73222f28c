"""Fetching from a POP3 mailbox (POP3, POP3S, POP3 + STLS) with poplib.

``UIDL`` names the messages, ``RETR`` fetches one, and ``DELE`` follows only once its
bytes are stored.  POP3 deletes nothing before ``QUIT`` (RFC 1939, the UPDATE state):
a run that fails half-way closes the connection without ``QUIT``, so the server keeps
every message and the next run fetches them again, finding the stored ones already
stored.
"""

from __future__ import annotations

import logging
import poplib
from typing import TYPE_CHECKING, Any

from django.conf import settings

from helpline.mail.transports.accounts import tls_context
from helpline.models import MailAccount

if TYPE_CHECKING:
    from helpline.mail.transports.accounts import FetchRun

log = logging.getLogger(__name__)

Protocol = MailAccount.Protocol
TIMEOUT = 60.0


class _AnyLineLength:
    """poplib refuses lines over 2048 bytes (its module-wide ``_MAXLINE``); raised to
    a fixed 8 MB, it still left a message with a longer line on the server for ever,
    failing every run.  Mail
    may have a line as long as the whole message (RFC 5322's 998 is often ignored),
    so here a line may be as long as the largest message Helpline accepts."""

    file: Any

    def _getline(self) -> tuple[bytes, int]:
        longest = settings.HELPLINE_MAX_MESSAGE_BYTES + 2
        line = self.file.readline(longest + 1)
        if len(line) > longest:
            raise poplib.error_proto("line too long")
        if not line:
            raise poplib.error_proto("-ERR EOF")
        octets = len(line)
        if line.endswith(b"\r\n"):
            return line[:-2], octets
        return line.removesuffix(b"\n"), octets


class POP3(_AnyLineLength, poplib.POP3):
    pass


class POP3S(_AnyLineLength, poplib.POP3_SSL):
    pass


def connect(account: MailAccount, *, timeout: float = TIMEOUT) -> poplib.POP3:
    """A logged-in session; the caller ends it with ``quit()`` or ``close()``."""
    context = tls_context(account)
    session: poplib.POP3
    if account.protocol == Protocol.POP3S:
        session = POP3S(
            account.host, account.port or 995, timeout=timeout, context=context
        )
    else:
        session = POP3(account.host, account.port or 110, timeout=timeout)
    try:
        if account.protocol == Protocol.POP3_STARTTLS:
            session.stls(context)
        session.user(account.username)
        session.pass_(account.password)
    except BaseException:
        session.close()
        raise
    return session


def test(account: MailAccount, *, timeout: float = TIMEOUT) -> str:
    session = connect(account, timeout=timeout)
    try:
        count, size = session.stat()
        session.quit()
    except BaseException:
        session.close()
        raise
    return f"logged in to {account.host}; the mailbox holds {count} message(s)"


def delete_message(session: poplib.POP3, number: int) -> None:
    """Mark a stored message for deletion (done by the server at ``QUIT``)."""
    session.dele(number)


def _listing(session: poplib.POP3) -> list[tuple[int, str, int]]:
    """(number, UIDL, size) of every message, in the server's order."""
    uids = {}
    for line in session.uidl()[1]:
        number, uid = line.decode("ascii", "replace").split(None, 1)
        uids[int(number)] = uid.strip()
    sizes = {}
    for line in session.list()[1]:
        number, size = line.decode("ascii", "replace").split()[:2]
        sizes[int(number)] = int(size)
    return [(n, uids.get(n, str(n)), sizes.get(n, 0)) for n in sorted(uids)]


def _refused(exc: poplib.error_proto) -> bool:
    """The server answered -ERR (as opposed to a broken or lost connection)."""
    answer = exc.args[0] if exc.args else b""
    return (
        isinstance(answer, bytes)
        and answer.startswith(b"-ERR")
        and answer != b"-ERR EOF"
    )


def fetch(account: MailAccount, run: FetchRun) -> None:
    session = connect(account)
    try:
        marked = 0
        for number, uid, size in _listing(session)[: run.limit]:
            what = f"message {uid}"
            if run.too_big(what, size):
                continue
            try:
                lines = session.retr(number)[1]
            except poplib.error_proto as exc:
                if not _refused(exc):
                    raise  # not the server's answer: the session is out of step
                run.error(what, f"cannot be fetched, left on the server ({exc})")
                continue
            raw = b"\r\n".join(lines) + b"\r\n"
            if run.store(raw, what):
                delete_message(session, number)
                marked += 1
        session.quit()  # the server deletes the marked messages now
        run.removed += marked
    except BaseException:
        session.close()  # without QUIT: nothing is deleted
        raise
