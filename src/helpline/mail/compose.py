"""Building the exact bytes of an outgoing message.

The bytes built here are stored as the article's raw source, queued in the outbox and
sent unchanged, so what an agent sees under "raw" is what the customer received.
Every text part and header is written in UTF-8 (encoded words, RFC 2231 names,
8bit/base64 bodies), whatever charset the customer's own mail came in: the text was
decoded on the way in, and UTF-8 can hold all of it.
"""

from __future__ import annotations

import mimetypes
import secrets
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from django.conf import settings
from django.utils import timezone

LOOP_HEADER = "X-Helpline-Loop"


@dataclass
class Outgoing:
    from_addr: str
    from_name: str
    to: list[str]
    subject: str
    body_text: str
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    in_reply_to: str = ""  # a Message-ID without <>
    references: list[str] = field(default_factory=list)
    # (filename, content type, bytes)
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    # "auto-replied" / "auto-generated" for automatic mail: RFC 3834, plus our loop
    # header, so neither we nor well-behaved responders answer it.
    auto_submitted: str = ""
    # Display names of recipients, by lower-case address ("Jane Doe" for To: Jane Doe
    # <jane@example.net>); written RFC 2047-encoded in UTF-8 when not ASCII.
    names: dict[str, str] = field(default_factory=dict)


def new_message_id() -> str:
    """A Message-ID nobody can guess.  A reply that names it (In-Reply-To,
    References) threads onto its ticket without the sender being a participant, so
    it is a capability: 128 bits from the operating system's random source
    (``email.utils.make_msgid`` draws 64 bits from Python's non-cryptographic
    generator)."""
    return f"{secrets.token_hex(16)}@{settings.HELPLINE_MAIL_DOMAIN}"


def _recipients(addresses: list[str], names: dict[str, str]) -> str:
    """An address-list header value; a known display name is put on one line and
    encoded (UTF-8 words, whatever the customer's own mail used)."""
    formatted = []
    for address in addresses:
        name = " ".join(names.get(address.lower(), "").split())
        formatted.append(formataddr((name, address), charset="utf-8"))
    return ", ".join(formatted)


def build(out: Outgoing) -> tuple[bytes, str]:
    """Return the message's bytes and its Message-ID (without angle brackets)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=out.from_name, addr_spec=out.from_addr)
    msg["To"] = _recipients(out.to, out.names)
    if out.cc:
        msg["Cc"] = _recipients(out.cc, out.names)
    # Bcc is not written into the message; its addresses are envelope recipients.
    msg["Subject"] = out.subject
    msg["Date"] = format_datetime(timezone.now())
    message_id = new_message_id()
    msg["Message-ID"] = f"<{message_id}>"
    if out.in_reply_to:
        msg["In-Reply-To"] = f"<{out.in_reply_to}>"
    refs = [r for r in out.references if r]
    if out.in_reply_to and out.in_reply_to not in refs:
        refs.append(out.in_reply_to)
    if refs:
        # Keep the first and the latest when a thread grows long (RFC 5322 3.6.4).
        if len(refs) > 20:
            refs = [refs[0], *refs[-19:]]
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if out.auto_submitted:
        msg["Auto-Submitted"] = out.auto_submitted
        msg[LOOP_HEADER] = "yes"
        msg["X-Auto-Response-Suppress"] = "All"
        msg["Precedence"] = "bulk"
    msg.set_content(out.body_text)
    for filename, content_type, data in out.attachments:
        ctype = content_type or mimetypes.guess_type(filename)[0] or ""
        maintype, _, subtype = ctype.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=SMTP), message_id
