"""The LMTP (default) or SMTP listener: an MTA delivers to ``helpline mail listen``.

Replies are precise, and in LMTP there is one reply per accepted recipient after the
message (RFC 2033 section 4.2; aiosmtpd sends whatever ``handle_DATA`` returns, so the
lines are joined with CRLF here):

- ``RCPT``: ``550 5.1.1`` for an address that is not a valid system address when
  ``HELPLINE_REJECT_UNKNOWN_RECIPIENTS`` is on (``451 4.3.0`` if that cannot be looked
  up); otherwise ``250 2.1.5``.
- after ``DATA``: ``250 2.0.0`` once the bytes are stored; ``552 5.3.4`` for a message
  over ``HELPLINE_MAX_MESSAGE_BYTES`` (also to ``MAIL FROM ... SIZE=``, the size being
  advertised); ``451 4.3.0`` when storing failed, so the MTA retries.

The message is stored once, with every accepted recipient as an envelope recipient, and
handed to ``dispatch`` only after the reply: processing never keeps the MTA waiting, and
its failures quarantine the stored message instead of losing it.

The Django ORM is synchronous: it runs in small thread pools, each job between
``close_old_connections()`` calls as a request would, and every pool thread closes its
connection when the listener stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, AnyStr, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections, connections

from helpline.blobstore import BlobStoreUnavailable
from helpline.mail.intake import dispatch, receive
from helpline.models import InboundMessage, InboundStatus, SystemAddress

log = logging.getLogger(__name__)

T = TypeVar("T")

TOO_BIG = "552 5.3.4 Message too big for this system"
TEMPFAIL = "451 4.3.0 Temporary failure storing the message, try again later"
UNKNOWN_RECIPIENT = "550 5.1.1 <{}>: no such address here"
RCPT_OK = "250 2.1.5 OK"

# aiosmtpd's own replies when it enforces ``data_size_limit`` (which also caps what it
# holds in memory, and is advertised as SIZE), with our enhanced status code instead.
_ENHANCED = {
    "552 Error: Too much mail data": TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": TOO_BIG,
}


class DatabaseThreads:
    """A thread pool for ORM work, with the connection hygiene of a request."""

    def __init__(self, workers: int, name: str) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name)

    @staticmethod
    def _job(fn: Callable[..., T], *args: Any) -> T:
        close_old_connections()
        try:
            return fn(*args)
        finally:
            close_old_connections()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, functools.partial(self._job, fn, *args)
        )

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._pool.submit(self._job, fn, *args)

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued jobs, close every thread's connection, stop the threads.

        Connections belong to the thread that opened them, so each thread closes its
        own: one job per thread, held at a barrier until every thread has one.
        """
        barrier = threading.Barrier(self.workers)

        def close_own_connection() -> None:
            connections.close_all()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout)

        jobs = [self._pool.submit(close_own_connection) for _ in range(self.workers)]
        for job in jobs:
            job.result()
        self._pool.shutdown(wait=True)


def is_system_address(address: str) -> bool:
    return SystemAddress.objects.filter(email=address.lower(), valid=True).exists()


def _dispatch(message: InboundMessage) -> None:
    try:
        dispatch(message)
    except Exception:  # stored is what counts: the worker's sweep processes it later
        log.exception("inbound message %s stored, processing deferred", message.pk)


class Handler:
    """aiosmtpd handler: check recipients, store, reply, then dispatch."""

    def __init__(self, *, lmtp: bool, store_threads: int = 4) -> None:
        self.lmtp = lmtp
        self.transport = "lmtp" if lmtp else "smtp"
        self.store = DatabaseThreads(store_threads, "helpline-store")
        self.process = DatabaseThreads(2, "helpline-dispatch")
        self._busy = 0
        self._idle = threading.Condition()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if settings.HELPLINE_REJECT_UNKNOWN_RECIPIENTS:
            try:
                known = await self.store.run(is_system_address, address)
            except Exception:
                log.exception("looking up recipient %s failed", address)
                return TEMPFAIL
            if not known:
                return UNKNOWN_RECIPIENT.format(address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return RCPT_OK

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        replies = len(envelope.rcpt_tos) if self.lmtp else 1
        reply = await self._store(envelope)
        return "\r\n".join([reply] * replies)

    async def _store(self, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if len(raw) > settings.HELPLINE_MAX_MESSAGE_BYTES:
            return TOO_BIG
        with self._idle:
            self._busy += 1
        try:
            message, created = await self.store.run(
                functools.partial(
                    receive,
                    raw,
                    transport=self.transport,
                    envelope_recipients=list(envelope.rcpt_tos),
                )
            )
        except BlobStoreUnavailable as exc:  # the MTA keeps it and tries again
            log.warning("storing a message: %s (%s)", exc.message, exc.__cause__)
            return TEMPFAIL
        except Exception:
            log.exception("storing a message from %s failed", envelope.mail_from)
            return TEMPFAIL
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()
        if message.status == InboundStatus.RECEIVED:
            # Queued now, run by another thread: the reply goes out without waiting.
            self.process.submit(_dispatch, message)
        what = "Stored" if created else "Already stored"
        return f"250 2.0.0 {what} as inbound message {message.pk}"

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no message is being stored; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def close(self) -> None:
        self.store.close()
        self.process.close()


class _ReplyPerRecipient:
    """aiosmtpd's own replies, made right for LMTP and with enhanced status codes.

    After DATA an LMTP client reads one reply per accepted recipient.  Our handler
    returns them; but when aiosmtpd itself refuses the message (too much data, a line
    too long) it sends one line, which would leave an LMTP client waiting for the rest.
    So the reply that ends the DATA phase is repeated for each recipient, unless it is
    already one line per recipient.
    """

    lmtp = False
    envelope: Envelope | None
    # Lines longer than RFC 5321 allows are common in real mail; refusing them would
    # bounce it.  aiosmtpd's default is 1001.
    line_length_limit = 64 * 1024
    _replying_to_data = False

    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if self._replying_to_data:
            self._replying_to_data = False
            text = self._per_recipient(_ENHANCED.get(text, text))
        elif text.startswith("354"):
            self._replying_to_data = True
        else:
            text = _ENHANCED.get(text, text)
        await super().push(text)  # type: ignore[misc]

    def _per_recipient(self, text: str) -> str:
        if not self.lmtp or "\r\n" in text or self.envelope is None:
            return text
        return "\r\n".join([text] * max(len(self.envelope.rcpt_tos), 1))


class HelplineLMTP(_ReplyPerRecipient, LMTP):
    lmtp = True


class HelplineSMTP(_ReplyPerRecipient, SMTP):
    lmtp = False


class ListenerController(Controller):
    """aiosmtpd's threaded controller with a graceful stop."""

    handler: Handler

    def __init__(
        self, handler: Handler, host: str, port: int, *, grace: float = 30.0
    ) -> None:
        super().__init__(
            handler,
            hostname=host,
            port=port,
            data_size_limit=settings.HELPLINE_MAX_MESSAGE_BYTES,
            ident="Helpline",
        )
        self.grace = grace

    def factory(self) -> SMTP:
        server_class = HelplineLMTP if self.handler.lmtp else HelplineSMTP
        return server_class(self.handler, **self.SMTP_kwargs)

    def stop(self, no_assert: bool = False) -> None:
        """Stop accepting, let messages being stored get their replies, then stop.

        Stopping never loses a message: one whose reply did not go out is retried by
        the MTA, and the second delivery finds the bytes already stored.
        """
        if self.server is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self.server.close)
        if not self.handler.wait_idle(self.grace):
            log.warning("stopping with messages still being stored; the MTA retries")
        super().stop(no_assert)
        self.handler.close()


def make_controller(
    host: str = "127.0.0.1", port: int = 8024, smtp: bool = False
) -> ListenerController:
    """A listener on ``host:port``, not yet started (``.start()``, ``.stop()``)."""
    return ListenerController(Handler(lmtp=not smtp), host, port)
