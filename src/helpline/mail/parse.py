"""Inbound mail parser: raw bytes -> ParsedMessage. Pure functions, no Django.

parse_message never raises. Line endings are normalised to LF before parsing, so
a CRLF message and its LF twin give the same result (only raw_sha256 differs).
The MIME tree and the body selection are in helpline.mail.mimetree (RFC 8621
rules), header decoding in helpline.mail.headers, charsets in
helpline.mail.charsets. Every leaf that is not body text is an attachment;
winmail.dat (TNEF) is replaced by the files inside it.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import TypedDict

from helpline.mail import charsets
from helpline.mail.headers import (
    Address,
    HeaderDecoder,
    normalize_message_id,
    one_line,
    parse_date,
    parse_message_ids,
    safe_filename,
)
from helpline.mail.htmltext import html_to_text
from helpline.mail.mimetree import PARSER, Leaf, Tree, charset, read_tree
from helpline.mail.sanitize import sanitize_html
from helpline.mail.tnef import looks_like_tnef, unpack_tnef

__all__ = [
    "Address",
    "ParsedAttachment",
    "ParsedMessage",
    "body_leaves",
    "normalize_message_id",
    "parse_message",
]


@dataclass
class ParsedAttachment:
    filename: str  # decoded, safe, never empty, at most 255 characters
    content_type: str  # lower-case "type/subtype"
    content: bytes  # transfer encoding decoded
    content_id: str  # without <>, '' if none
    disposition: str  # "attachment" or "inline"

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class ParsedMessage:
    raw_sha256: str
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    recipients_for_routing: list[str]
    date: datetime | None
    headers: list[tuple[str, str]]
    body_text: str
    body_html: str
    attachments: list[ParsedAttachment]
    is_encrypted: bool
    is_signed: bool
    defects: list[str] = field(default_factory=list)
    # Every From address (``from_`` is the first) and the Sender: who the mail claims
    # to come from, for the follow-up check (helpline.mail.followup).
    from_all: list[Address] = field(default_factory=list)
    sender: Address | None = None

    def header(self, name: str) -> str:
        """The first value of the header with that name (case-insensitive), or ''."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), "")

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self.headers if n.lower() == wanted]


_ROUTING = ("resent-to", "envelope-to", "to", "cc", "delivered-to", "x-original-to")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MIME_TYPES = mimetypes.MimeTypes(filenames=())  # built-in table: same on every host
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "image/jpeg": ".jpg",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/partial": ".eml",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
}


def _extension(ctype: str) -> str:
    found = _EXTENSIONS.get(ctype) or _MIME_TYPES.guess_extension(ctype)
    return found or (".txt" if ctype.startswith(("text/", "message/")) else ".bin")


def _text_as_html(text: str) -> str:
    if not text.strip():
        return ""
    return "<div>" + html.escape(text).replace("\n", "<br>\n") + "</div>"


class _Assembler:
    """Turns the selected leaves into bodies and attachments."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.defects = tree.defects
        self.used: set[int] = set()
        self.decoded: dict[int, str] = {}

    def decode(self, leaf: Leaf) -> str:
        if id(leaf) not in self.decoded:
            self.decoded[id(leaf)] = self._decode(leaf)
        return self.decoded[id(leaf)]

    def _decode(self, leaf: Leaf) -> str:
        declared = charset(leaf.part)
        if declared is None and leaf.ctype == "text/html":
            found = _META_CHARSET.search(leaf.content[:4096])
            declared = found.group(1).decode("ascii") if found else None
        text, note = charsets.decode_body(leaf.content, declared)
        if note:
            self.defects.append(f"{leaf.ctype} part: {note}")
        cleaned = charsets.clean_text(text)
        if _CONTROLS.search(cleaned) or "\x00" in text:
            cleaned = _CONTROLS.sub("", cleaned)
            self.defects.append(f"{leaf.ctype} part: control characters removed")
        return cleaned

    def bodies(self) -> tuple[str, str]:
        """(body_text, unsanitised body_html)."""
        texts: list[str] = []
        for leaf in self.tree.text:
            if leaf.ctype in ("text/plain", "text/html"):
                decoded = self.decode(leaf)
                texts.append(
                    html_to_text(decoded) if leaf.ctype == "text/html" else decoded
                )
                self.used.add(id(leaf))
        htmls: list[str] = []
        html_leaves = [leaf for leaf in self.tree.html if leaf.ctype == "text/html"]
        if any(leaf.content.strip() for leaf in html_leaves):
            for leaf in self.tree.html:
                if leaf.ctype == "text/html":
                    htmls.append(self.decode(leaf))
                elif leaf.ctype == "text/plain":
                    htmls.append(_text_as_html(self.decode(leaf)))
                else:
                    continue
                self.used.add(id(leaf))
        else:  # empty HTML alternatives are neither body nor files
            self.used.update(id(leaf) for leaf in html_leaves)
        body_text = "\n\n".join(t.rstrip() for t in texts if t.strip())
        raw_html = "\n".join(h for h in htmls if h.strip())
        if not body_text and raw_html:
            body_text = html_to_text(raw_html)
        if not body_text and not raw_html:
            # Property 5: a text part with content must not end up only as a file.
            for leaf in self.tree.leaves:
                if (
                    id(leaf) not in self.used
                    and leaf.ctype in ("text/plain", "text/html")
                    and leaf.disposition != "attachment"
                    and leaf.content.strip()
                ):
                    body_text = self.decode(leaf)
                    if leaf.ctype == "text/html":
                        raw_html, body_text = body_text, html_to_text(body_text)
                    body_text = body_text.rstrip()
                    self.used.add(id(leaf))
                    break
        return body_text, raw_html

    def attachments(self) -> tuple[list[ParsedAttachment], str, str]:
        """The attachments, and the text and HTML body of a TNEF blob, if any."""
        found: list[ParsedAttachment] = []
        tnef_text = tnef_html = ""
        for leaf in self.tree.leaves:
            if id(leaf) in self.used:
                continue
            if looks_like_tnef(leaf.content):
                unpacked = unpack_tnef(leaf.content)
                if unpacked is None:
                    self.defects.append("winmail.dat (TNEF) unreadable; kept as it is")
                else:
                    tnef_text = tnef_text or unpacked.body_text
                    tnef_html = tnef_html or unpacked.body_html
                    for name, data in unpacked.attachments:
                        ctype = (
                            _MIME_TYPES.guess_type(name)[0]
                            or "application/octet-stream"
                        )
                        found.append(
                            ParsedAttachment(name, ctype, data, "", "attachment")
                        )
                    if unpacked.attachments:
                        continue
            name = leaf.name
            if not name and leaf.ctype in ("message/rfc822", "message/global"):
                subject = self.inner_subject(leaf.content)
                name = safe_filename(subject, keep_slashes=True)[:250]
                name = name + ".eml" if name else ""
            disposition = leaf.disposition or (
                "inline" if leaf.content_id else "attachment"
            )
            found.append(
                ParsedAttachment(
                    name, leaf.ctype, leaf.content, leaf.content_id, disposition
                )
            )
        for number, attachment in enumerate(found, start=1):
            original = attachment.filename
            attachment.filename = safe_filename(original) or (
                f"attachment-{number}{_extension(attachment.content_type)}"
            )
            if original.strip() and attachment.filename != original.strip():
                self.defects.append(
                    f"unsafe filename {original!r} replaced by {attachment.filename!r}"
                )
        return found, tnef_text, tnef_html

    def inner_subject(self, content: bytes) -> str:
        try:
            subject = PARSER.parsebytes(content[:65536], headersonly=True).get(
                "subject"
            )
        except Exception:  # an unreadable forwarded message has no subject
            return ""
        return self.tree.decoder.text(str(subject)) if subject else ""


class _HeaderFields(TypedDict):
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    recipients_for_routing: list[str]
    date: datetime | None
    headers: list[tuple[str, str]]
    from_all: list[Address]
    sender: Address | None


_NO_HEADER = _HeaderFields(
    message_id="",
    in_reply_to=[],
    references=[],
    subject="",
    from_=None,
    reply_to=[],
    to=[],
    cc=[],
    recipients_for_routing=[],
    date=None,
    headers=[],
    from_all=[],
    sender=None,
)


def _header_fields(message: Message, decoder: HeaderDecoder) -> _HeaderFields:
    """The ParsedMessage fields that come from the top-level header."""
    raw_items = [(name, str(value)) for name, value in message.raw_items()]
    first: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    for name, value in raw_items:
        first.setdefault(name.lower(), value)
        by_name.setdefault(name.lower(), []).append(value)

    def addresses(*names: str) -> list[Address]:
        return [
            a for n in names for v in by_name.get(n, []) for a in decoder.addresses(v)
        ]

    def ids(name: str) -> list[str]:
        found: list[str] = []
        for value in by_name.get(name, []):
            found += [m for m in parse_message_ids(value) if m not in found]
        return found

    routing: list[str] = []
    for address in addresses(*_ROUTING):
        email = address.email.lower()
        if "@" in email and email not in routing:
            routing.append(email)
    return _HeaderFields(
        message_id=normalize_message_id(first.get("message-id", "")),
        in_reply_to=ids("in-reply-to"),
        references=ids("references"),
        subject=decoder.text(first.get("subject", "")),
        from_=next(iter(addresses("from")), None),
        reply_to=addresses("reply-to"),
        to=addresses("to"),
        cc=addresses("cc"),
        recipients_for_routing=routing,
        date=parse_date(first["date"]) if "date" in first else None,
        headers=[(one_line(name), decoder.value(value)) for name, value in raw_items],
        from_all=addresses("from"),
        sender=next(iter(addresses("sender")), None),
    )


def body_leaves(tree: Tree) -> list[Leaf]:
    """The leaves ``parse_message`` makes the body of: the chosen text and HTML parts,
    or the winmail.dat (TNEF) blobs when the body came from one (redaction rewrites
    them: helpline.mail.rewrite)."""
    assembler = _Assembler(tree)
    body_text, raw_html = assembler.bodies()
    chosen = [leaf for leaf in tree.leaves if id(leaf) in assembler.used]
    if not body_text.strip() and not raw_html.strip():
        chosen += [
            leaf
            for leaf in tree.leaves
            if id(leaf) not in assembler.used and looks_like_tnef(leaf.content)
        ]
    return chosen


def _parse(raw: bytes) -> ParsedMessage:
    message, tree = read_tree(raw.replace(b"\r\n", b"\n"))
    assembler = _Assembler(tree)
    body_text, raw_html = assembler.bodies()
    attachments, tnef_text, tnef_html = assembler.attachments()
    if not body_text and not raw_html and (tnef_text or tnef_html):
        raw_html = tnef_html
        body_text = tnef_text or html_to_text(tnef_html)
    start = body_text.lstrip()[:40]
    fields = _header_fields(message, tree.decoder)
    date_value = message.get("date")
    if fields["date"] is None and date_value and str(date_value).strip():
        tree.defects.append(f"unreadable Date header {one_line(str(date_value))!r}")
    return ParsedMessage(
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        body_text=body_text,
        body_html=sanitize_html(raw_html) if raw_html.strip() else "",
        attachments=attachments,
        is_encrypted=tree.encrypted or start.startswith("-----BEGIN PGP MESSAGE-----"),
        is_signed=tree.signed or start.startswith("-----BEGIN PGP SIGNED MESSAGE"),
        defects=[one_line(d) for d in tree.defects + tree.decoder.notes],
        **fields,
    )


def _fallback(raw: bytes, exc: Exception) -> ParsedMessage:
    """The whole message as one attachment, with what the header still tells."""
    note = f"message could not be parsed ({type(exc).__name__}: {exc}); kept whole"
    fields = _NO_HEADER.copy()
    try:
        message = PARSER.parsebytes(raw.replace(b"\r\n", b"\n"), headersonly=True)
        decoder = HeaderDecoder([str(v) for _, v in message.raw_items()], None)
        fields = _header_fields(message, decoder)
    except Exception:  # even the header is unreadable: keep the empty fields
        note += "; header unreadable"
    return ParsedMessage(
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        body_text="",
        body_html="",
        attachments=[
            ParsedAttachment("message.eml", "message/rfc822", raw, "", "attachment")
        ],
        is_encrypted=False,
        is_signed=False,
        defects=[one_line(note)],
        **fields,
    )


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one message. Never raises: at worst the raw bytes become one attachment."""
    raw = bytes(raw)
    try:
        return _parse(raw)
    except Exception as exc:  # the contract: never raise (RecursionError included)
        return _fallback(raw, exc)
