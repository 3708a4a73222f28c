"""Store first: every transport hands the raw bytes here before anything else happens.

``receive`` writes the bytes (content-addressed) and an ``InboundMessage`` row and returns
it; it parses nothing, so it cannot fail on a broken message — only on a broken
database or disk, which transports turn into a temporary failure (exit 75, SMTP 451) so
the sender retries.  ``dispatch`` then has the message processed: at once in this
process, or by the worker when the job queue is configured.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from django.db import IntegrityError, transaction

from helpline.blobstore import store_blob
from helpline.mail import hooks
from helpline.models import InboundMessage, Queue

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*<?([^>\r\n]{1,900})>?", re.I | re.M)
# A line break followed by white space continues the header line (RFC 5322 2.2.3).
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


def _sniff_message_id(raw: bytes) -> str:
    """The Message-ID from the header block (unfolded), without parsing the message."""
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    match = _MESSAGE_ID.search(_FOLD.sub(b"", head))
    return match.group(1).decode("ascii", "replace").strip() if match else ""


def receive(
    raw: bytes,
    *,
    transport: str,
    envelope_recipients: Iterable[str] = (),
    queue: Queue | None = None,
    trust_headers: bool = False,
) -> tuple[InboundMessage, bool]:
    """Store ``raw``; returns the message and whether it was new.

    The same bytes received twice are one message (keyed by their SHA-256): the second
    delivery returns the first row and processing it again changes nothing.
    """
    sha = hashlib.sha256(raw).hexdigest()
    try:
        # Optimistic: new bytes are the rule, a repeated delivery the exception that
        # the unique sha256 turns into an IntegrityError (rolling back the blob too).
        with transaction.atomic():
            blob = store_blob(raw, expect_new=True)
            message = InboundMessage.objects.create(
                raw=blob,
                sha256=sha,
                message_id=_sniff_message_id(raw)[:998],
                transport=transport,
                envelope_recipients=[r.lower() for r in envelope_recipients],
                queue_hint=queue,
                trust_headers=trust_headers,
            )
    except IntegrityError:
        existing = InboundMessage.objects.filter(sha256=sha).first()
        if existing is None:  # not a repeated delivery: a real failure
            raise
        return existing, False  # the same bytes arrived before (or concurrently)
    return message, True


def dispatch(message: InboundMessage) -> None:
    """Have a stored message processed by the worker (at once in immediate mode).

    If the job is lost (a crash right after storing), the worker's sweep finds the
    message still ``received`` and processes it: storing is what must not fail.
    """
    for hook in hooks.on_stored:
        hook(message.pk)


def receive_and_dispatch(raw: bytes, **kwargs: object) -> InboundMessage:
    message, _ = receive(raw, **kwargs)  # type: ignore[arg-type]
    dispatch(message)
    message.refresh_from_db()
    return message
