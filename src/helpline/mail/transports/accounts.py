"""Mail accounts: fetch from IMAP or POP3 mailboxes, test a connection, add an account.

The rules every fetcher keeps (BEHAVIOUR.md section 2, "Entry"):

- a message is removed from the server (deleted, or moved on IMAP) only after its bytes
  are stored;
- one message that cannot be fetched or stored is left on the server and noted in the
  account's ``last_error``; the others are still fetched;
- a crash between storing and removing loses nothing and duplicates nothing: the next
  run fetches the message again, ``receive`` finds the same bytes already stored, and
  the message is removed then;
- stored messages are dispatched for processing after they are removed, and also when
  the run fails half-way (they are safe in the database either way).
"""

from __future__ import annotations

import imaplib
import logging
import poplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from helpline.errors import Conflict, InvalidInput, NotFound
from helpline.mail.intake import dispatch, receive
from helpline.models import InboundMessage, InboundStatus, MailAccount, Queue

log = logging.getLogger(__name__)

Protocol = MailAccount.Protocol
IMAP_PROTOCOLS = (Protocol.IMAP, Protocol.IMAPS, Protocol.IMAP_STARTTLS)
POP3_PROTOCOLS = (Protocol.POP3, Protocol.POP3S, Protocol.POP3_STARTTLS)

DEFAULT_LIMIT = 500
_MAX_ERROR_TEXT = 10_000


def tls_context(account: MailAccount) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not account.verify_tls:
        # The administrator's explicit choice (a self-signed server certificate).
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class FetchRun:
    """One fetch of one account: what was stored, removed, and what went wrong."""

    account: MailAccount
    limit: int = DEFAULT_LIMIT
    stored: int = 0  # new messages
    known: int = 0  # stored by an earlier run that did not get to remove them
    removed: int = 0  # deleted or moved on the server
    errors: list[str] = field(default_factory=list)
    _to_dispatch: list[InboundMessage] = field(default_factory=list)

    @property
    def transport(self) -> str:
        return "pop3" if self.account.protocol in POP3_PROTOCOLS else "imap"

    def error(self, what: str, problem: str) -> None:
        self.errors.append(f"{what}: {problem}")

    def too_big(self, what: str, size: int) -> bool:
        limit = settings.HELPLINE_MAX_MESSAGE_BYTES
        if size <= limit:
            return False
        self.error(
            what,
            f"{size} bytes, over HELPLINE_MAX_MESSAGE_BYTES ({limit}); "
            "left on the server",
        )
        return True

    def store(self, raw: bytes, what: str) -> bool:
        """Store one fetched message; True once it is safe to remove from the server."""
        if self.too_big(what, len(raw)):
            return False
        try:
            message, created = receive(
                raw,
                transport=self.transport,
                queue=self.account.queue,
                trust_headers=self.account.trust_headers,
            )
        except Exception as exc:  # a disk or database failure for this message
            log.exception("storing %s from %s failed", what, self.account.name)
            self.error(what, f"not stored, left on the server ({exc!r})")
            return False
        if created:
            self.stored += 1
        else:
            self.known += 1
        self._to_dispatch.append(message)
        return True

    def dispatch_stored(self) -> None:
        """Hand stored messages to processing (once each; done ones are skipped)."""
        messages, self._to_dispatch = self._to_dispatch, []
        for message in messages:
            if message.status != InboundStatus.RECEIVED:
                continue
            try:
                dispatch(message)
            except Exception:  # stored is what counts: the worker's sweep takes it
                log.exception("inbound message %s: processing deferred", message.pk)

    def summary(self) -> str:
        text = (
            f"{self.stored} new, {self.known} already stored, "
            f"{self.removed} removed from the server"
        )
        if self.errors:
            text += f", {len(self.errors)} problem(s)"
        return text


def _protocol_module(account: MailAccount):  # type: ignore[no-untyped-def]
    # Imported here: the protocol modules use FetchRun and tls_context from this one.
    from helpline.mail.transports import imap, pop3

    if account.protocol in IMAP_PROTOCOLS:
        return imap
    if account.protocol in POP3_PROTOCOLS:
        return pop3
    raise InvalidInput(f"Mail account {account.name!r}: unknown protocol.")


def fetch_account(account: MailAccount, *, limit: int = DEFAULT_LIMIT) -> FetchRun:
    """Fetch up to ``limit`` messages; problems end up in ``account.last_error``.

    Never raises for a problem with the server or a message: a failed connection or
    login is recorded like any other problem, and what was stored is dispatched.
    """
    run = FetchRun(account=account, limit=limit)
    try:
        fetch: Callable[[MailAccount, FetchRun], None] = _protocol_module(account).fetch
        fetch(account, run)
    except (OSError, imaplib.IMAP4.error, poplib.error_proto) as exc:
        # The server is down, refuses the login, or the connection broke: expected
        # now and then, reported on the account without a traceback.
        run.error("fetch", f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        log.exception("fetching mail account %s failed", account.name)
        run.error("fetch", f"{type(exc).__name__}: {exc}")
    finally:
        run.dispatch_stored()
        if run.errors:
            log.warning("mail account %s: %s", account.name, "; ".join(run.errors))
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
        account.last_fetch = timezone.now()
        account.last_error = "\n".join(f"{stamp} {e}" for e in run.errors)[
            :_MAX_ERROR_TEXT
        ]
        try:
            account.save(update_fields=["last_fetch", "last_error"])
        except Exception:
            log.exception("recording the fetch of mail account %s failed", account.name)
    return run


def fetch_all(*, limit: int = DEFAULT_LIMIT) -> list[FetchRun]:
    """Fetch every valid account, one after the other."""
    accounts = MailAccount.objects.filter(valid=True).select_related("queue")
    return [fetch_account(account, limit=limit) for account in accounts]


def test_account(account: MailAccount, *, timeout: float | None = None) -> str:
    """Connect, log in and open the folder; a line saying how many messages wait.

    Raises on any failure (connection, TLS, login, folder) with the server's words.
    ``timeout`` (seconds, per step) defaults to the fetchers' own.
    """
    module = _protocol_module(account)
    result: str = (
        module.test(account)
        if timeout is None
        else module.test(account, timeout=timeout)
    )
    return result


test_account.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def get_account(name: str) -> MailAccount:
    account = MailAccount.objects.select_related("queue").filter(name=name).first()
    if account is None:
        raise NotFound(f"No mail account named {name!r}.")
    return account


def create_account(
    name: str,
    *,
    protocol: str,
    host: str,
    username: str,
    password: str,
    port: int | None = None,
    folder: str = "INBOX",
    move_to: str = "",
    queue: Queue | None = None,
    trust_headers: bool = False,
    verify_tls: bool = True,
) -> MailAccount:
    """Add a mail account; the worker fetches it from then on."""
    name, host = name.strip(), host.strip()
    if not name or not host or not username:
        raise InvalidInput("A mail account needs a name, a host and a user name.")
    if protocol not in Protocol.values:
        raise InvalidInput(f"Unknown protocol {protocol!r}.")
    if protocol in POP3_PROTOCOLS and (move_to or folder != "INBOX"):
        raise InvalidInput("POP3 has no folders: --folder and --move-to are IMAP only.")
    if port is not None and not 0 < port < 65536:
        raise InvalidInput(f"Port {port} is not a TCP port.")
    with transaction.atomic():
        if MailAccount.objects.filter(name=name).exists():
            raise Conflict(f"A mail account {name!r} exists already.")
        account = MailAccount.objects.create(
            name=name,
            protocol=protocol,
            host=host,
            port=port,
            username=username,
            password=password,
            folder=folder or "INBOX",
            move_to=move_to,
            queue=queue,
            trust_headers=trust_headers,
            verify_tls=verify_tls,
        )
    log.info("mail account %s added (%s://%s)", name, protocol, host)
    return account
