"""The pipe transport: an MTA hands one message to ``helpline postmaster`` on stdin.

The answer is the exit status, in the sendmail/Postfix convention (``sysexits.h``):

- ``0`` the message is stored.  It is then processed; if processing fails the message
  is quarantined, still stored and replayable, so the MTA has nothing to retry.
- ``75`` (EX_TEMPFAIL) storing failed (database or disk unreachable, or any other
  failure before the bytes were safe): the MTA keeps the message and retries.
- ``65`` (EX_DATAERR) no message, or one over ``HELPLINE_MAX_MESSAGE_BYTES``: retrying
  cannot help, the MTA returns it to the sender with our one-line explanation.
- ``64`` (EX_USAGE) the command line is wrong (an unknown ``--queue``): fix the MTA's
  configuration.

The transport only stores and hands over (STYLE.md section 2): nothing here parses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.db import Error as DatabaseError

from helpline.blobstore import BlobStoreUnavailable
from helpline.mail.intake import dispatch, receive
from helpline.models import InboundMessage, InboundStatus, Queue

log = logging.getLogger(__name__)

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_TEMPFAIL = 75

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PipeResult:
    """The exit status, a line for the MTA's log or bounce, and the stored message."""

    status: int
    text: str
    message: InboundMessage | None = None


def read_message(stream: BinaryIO, limit: int) -> tuple[bytes, int]:
    """Up to ``limit`` bytes of the message and its full size.

    A message over the limit is read to its end and discarded, so the MTA finishes
    writing and then sees our exit status rather than a broken pipe.
    """
    data = stream.read(limit + 1) or b""
    size = len(data)
    if size <= limit:
        return data, size
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
    return b"", size


def find_queue(name: str | None) -> Queue | None:
    """The queue named by ``--queue``; LookupError when there is none."""
    if not name:
        return None
    queue = Queue.objects.filter(name=name).first()
    if queue is None:
        raise LookupError(
            f"--queue {name!r}: no such queue (see 'helpline queue list')."
        )
    return queue


def deliver(
    stream: BinaryIO, *, queue_name: str | None = None, trust_headers: bool = False
) -> PipeResult:
    """Store the message on ``stream``, then have it processed."""
    try:
        queue = find_queue(queue_name)
    except LookupError as exc:
        return PipeResult(EX_USAGE, str(exc))
    except (DatabaseError, OSError) as exc:  # the database is unreachable
        return PipeResult(EX_TEMPFAIL, f"temporary failure, try again later: {exc}")

    limit = settings.HELPLINE_MAX_MESSAGE_BYTES
    raw, size = read_message(stream, limit)
    if size > limit:
        return PipeResult(
            EX_DATAERR,
            f"message too big: {size} bytes, over the limit of {limit} "
            "(HELPLINE_MAX_MESSAGE_BYTES)",
        )
    if not raw.strip():
        return PipeResult(EX_DATAERR, "no message on standard input")

    try:
        message, created = receive(
            raw, transport="pipe", queue=queue, trust_headers=trust_headers
        )
    except (DatabaseError, OSError) as exc:  # database or disk unreachable
        return PipeResult(
            EX_TEMPFAIL, f"could not store the message, try again later: {exc}"
        )
    except BlobStoreUnavailable as exc:  # the object store is down
        return PipeResult(
            EX_TEMPFAIL, f"could not store the message, try again later: {exc}"
        )
    except Exception as exc:
        # Not stored, for a reason nobody foresaw: still the MTA's to keep and retry
        # (a bounce would lose the message for us); the traceback is for the admin.
        log.exception("storing a piped message failed")
        return PipeResult(
            EX_TEMPFAIL, f"could not store the message, try again later: {exc!r}"
        )

    if message.status == InboundStatus.RECEIVED:
        try:
            dispatch(message)
        except Exception:
            # Stored is what counts: the worker's sweep processes it later.
            log.exception("inbound message %s stored, processing deferred", message.pk)
    what = "stored" if created else "already stored"
    return PipeResult(EX_OK, f"{what} as inbound message {message.pk}", message)
