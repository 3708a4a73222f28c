"""Reading the DATA of an SMTP or LMTP session: any line length, CRLF or bare LF.

aiosmtpd's own reader looks for CRLF only and refuses a line over its limit with a
permanent ``500 Line too long``.  A client writing bare LF line ends (a script, or an
MTA passing a Unix file through unchanged) sends what looks like one endless line, so
a message of that kind over the limit was bounced, and one whose ending dot came after
a bare LF was never seen to end.  This reader instead:

- accepts lines of any length (they are read in pieces, never held over the size
  limit) and stores every line end as CRLF, the form mail has on the wire;
- ends the data at ``CRLF . CRLF`` only; a client whose first line ends in a bare LF
  is a bare-LF client, and for it a ``.`` line ends the data whatever its line ends
  (``LF . LF`` as well).  In a CRLF session a ``.`` line with a bare LF before or
  after it is data: ending there would let a bare LF smuggle a second message past
  an MTA that does not end there ("SMTP smuggling");
- reads a message over the size limit to its end, keeping nothing of it, so the
  answer (``552``) comes after the data, where the client expects it (RFC 5321
  section 4.2.5).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

CRLF = b"\r\n"
LF = b"\n"


@dataclass(frozen=True)
class Data:
    """What a DATA phase delivered: the content (``None`` when over the limit) and
    its size in bytes, counted with CRLF line ends and after dot-unstuffing."""

    content: bytes | None
    size: int

    @property
    def too_big(self) -> bool:
        return self.content is None


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    """One line with its LF, however long (in pieces of the reader's limit); what is
    left at the end of the stream if it closes in the middle of a line."""
    pieces = []
    while True:
        try:
            pieces.append(await reader.readuntil(LF))
            break
        except asyncio.LimitOverrunError as exc:
            pieces.append(await reader.readexactly(exc.consumed))
        except asyncio.IncompleteReadError as exc:
            pieces.append(exc.partial)
            break
    return b"".join(pieces)


async def read_data(reader: asyncio.StreamReader, limit: int | None) -> Data:
    """Read one message's DATA from ``reader``, up to and including its ending dot.

    Raises ``ConnectionError`` when the stream ends before the ending dot.
    """
    kept: list[bytes] = []
    size = 0
    bare_lf_client: bool | None = None
    after_bare_lf = False  # the previous line ended in a bare LF
    while True:
        line = await _read_line(reader)
        if not line.endswith(LF):
            raise ConnectionError("the connection closed during DATA")
        crlf = line.endswith(CRLF)
        if bare_lf_client is None:
            bare_lf_client = not crlf
        body = line[:-2] if crlf else line[:-1]
        if body == b"." and (bare_lf_client or (crlf and not after_bare_lf)):
            break
        after_bare_lf = not crlf
        if body.startswith(b"..") or (body.startswith(b".") and body != b"."):
            body = body[1:]  # dot-unstuffing (RFC 5321 section 4.5.2)
        size += len(body) + 2
        if limit is not None and size > limit:
            kept.clear()  # keep reading to the end, holding nothing
            continue
        kept.append(body)
    if limit is not None and size > limit:
        return Data(None, size)
    return Data(b"".join(part + CRLF for part in kept), size)
