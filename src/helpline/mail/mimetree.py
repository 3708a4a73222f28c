"""The MIME tree of a message, and which of its leaves make the body.

The tree comes from the standard library's email package, parsed from bytes with a
policy derived from policy.default whose header access returns the raw unfolded
value (fast, never raises; helpline.mail.headers decodes it). Two repairs happen
while parsing: a Content-Type missing the ';' before its parameters, and sloppy
Content-Transfer-Encoding values ("8 bit", " base64 "). message/* parts are kept
as leaves holding their exact bytes: a forwarded message is attached as it came.

Body selection follows the JMAP algorithm (RFC 8621, section 4.1.4): inline
text/plain parts make the text body (text parts after the first one in a
multipart/mixed are appended), text/html parts the HTML body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy

from helpline.mail.headers import HeaderDecoder, normalize_message_id

_MISSING_SEMICOLON = re.compile(r"\s*([\w.+-]+/[\w.+-]+)[ \t]+(?=[\w*-]+\s*=)")
_CTE_ALIASES = {"8-bit": "8bit", "7-bit": "7bit", "8bits": "8bit", "7bits": "7bit"}
_MAX_DEPTH = 64
_TOKEN_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_NOT_TOKEN = re.compile(r"[^a-z0-9!#$&^_.+/-]")
_MEDIA = ("image", "audio", "video")


class _Policy(EmailPolicy):
    """policy.default, but header access returns the raw unfolded string."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        value = value.replace("\n", "").replace("\r", " ")
        lowered = name.lower()
        if lowered == "content-type":
            value = _MISSING_SEMICOLON.sub(r"\1; ", value, count=1)
        elif lowered == "content-transfer-encoding":
            value = "".join(value.split()).lower()
            value = _CTE_ALIASES.get(value, value)
        return value


def content_type(part: Message) -> str:
    """Lower-case type/subtype (text/plain when missing or invalid)."""
    ctype = Message.get_content_type(part)
    if not _TOKEN_TYPE.fullmatch(ctype):
        ctype = _NOT_TOKEN.sub("", ctype)
        if not _TOKEN_TYPE.fullmatch(ctype):
            return "text/plain"
    return ctype


class _Part(Message):
    """Steers the parser: message/* bodies stay leaves holding their raw bytes."""

    def get_content_type(self) -> str:
        ctype = content_type(self)
        return "x-leaf/" + ctype[8:] if ctype.startswith("message/") else ctype


PARSER = BytesParser(_class=_Part, policy=_Policy())


def charset(part: Message) -> str | None:
    try:
        value = part.get_param("charset")
    except Exception:  # odd parameter syntax
        return None
    if isinstance(value, tuple):
        value = value[2]
    return str(value) if value else None


def first_text_charset(message: Message) -> str | None:
    """The declared charset of the first text part: a hint for raw 8-bit headers."""
    for part in message.walk():
        if content_type(part).startswith("text/"):
            found = charset(part)
            if found:
                return found
    return None


@dataclass
class Leaf:
    part: Message
    ctype: str
    disposition: str  # '', 'inline' or 'attachment' as declared
    name: str  # decoded but not yet made safe; '' if none
    content_id: str
    content: bytes  # transfer encoding undone


@dataclass
class Tree:
    """All leaves in order, the text and HTML body leaves, flags and defects."""

    decoder: HeaderDecoder
    leaves: list[Leaf] = field(default_factory=list)
    text: list[Leaf] = field(default_factory=list)
    html: list[Leaf] = field(default_factory=list)
    encrypted: bool = False
    signed: bool = False
    defects: list[str] = field(default_factory=list)

    def leaf(self, part: Message, ctype: str) -> Leaf:
        content = b""
        try:
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
        except Exception as exc:  # a transfer encoding the stdlib cannot undo
            self.defects.append(f"{ctype} part: content not decodable ({exc})")
        disposition = str(part.get("content-disposition") or "").split(";", 1)[0]
        disposition = disposition.strip().lower()
        if disposition not in ("", "inline", "attachment"):
            disposition = "" if "=" in disposition else "attachment"
        name = ""
        for param, header in (
            ("filename", "content-disposition"),
            ("name", "content-type"),
        ):
            try:
                value = part.get_param(param, None, header)
            except Exception:  # odd parameter syntax
                value = None
            if value:
                name = self.decoder.param(value)  # type: ignore[arg-type]
                if name.strip():
                    break
        content_id = normalize_message_id(str(part.get("content-id") or ""))
        found = Leaf(part, ctype, disposition, name, content_id, content)
        self.leaves.append(found)
        return found

    def walk(
        self,
        parts: list[Message],
        subtype: str = "mixed",
        in_alternative: bool = False,
        text: list[Leaf] | None = None,
        html: list[Leaf] | None = None,
        depth: int = 0,
    ) -> None:
        """RFC 8621 4.1.4 over parts, children of a multipart/<subtype>."""
        text_len = len(text) if text is not None else -1
        html_len = len(html) if html is not None else -1
        for index, part in enumerate(parts):
            ctype = content_type(part)
            self._flags(part, ctype)
            self._defects(part, ctype)
            if part.is_multipart():
                children = [p for p in part.get_payload() if isinstance(p, Message)]
                sub = ctype.split("/", 1)[1]
                if depth >= _MAX_DEPTH:
                    self.walk(children, "mixed", False, None, None, depth)
                else:
                    alternative = in_alternative or sub == "alternative"
                    self.walk(children, sub, alternative, text, html, depth + 1)
                continue
            if ctype.startswith("multipart/"):
                self.defects.append(f"{ctype} part without parts: read as text/plain")
                ctype = "text/plain"
            leaf = self.leaf(part, ctype)
            media = ctype.split("/", 1)[0] in _MEDIA
            inline = (
                leaf.disposition != "attachment"
                and (ctype in ("text/plain", "text/html") or media)
                and (index == 0 or (subtype != "related" and (media or not leaf.name)))
            )
            if not inline:
                continue
            if subtype == "alternative":
                if ctype == "text/plain" and text is not None:
                    text.append(leaf)
                elif ctype == "text/html" and html is not None:
                    html.append(leaf)
                continue
            if in_alternative:
                if ctype == "text/plain":
                    html = None
                elif ctype == "text/html":
                    text = None
            if text is not None:
                text.append(leaf)
            if html is not None:
                html.append(leaf)
        if subtype == "alternative" and text is not None and html is not None:
            if len(text) == text_len and len(html) != html_len:
                text.extend(html[html_len:])
            if len(html) == html_len and len(text) != text_len:
                html.extend(text[text_len:])

    def _flags(self, part: Message, ctype: str) -> None:
        if ctype == "multipart/encrypted":
            self.encrypted = True
        elif ctype == "multipart/signed":
            self.signed = True
        elif ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
            smime = str(part.get_param("smime-type", "") or "").lower()
            if "signed" in smime:
                self.signed = True
            elif smime != "certs-only":
                self.encrypted = True

    def _defects(self, part: Message, ctype: str) -> None:
        for defect in part.defects:
            label = type(defect).__name__.removesuffix("Defect")
            words = re.sub(r"(?<!^)(?=[A-Z])", " ", label).lower()
            detail = f": {defect}" if str(defect) else ""
            self.defects.append(f"{ctype} part: {words}{detail}")


def read_tree(normalised: bytes) -> tuple[Message, Tree]:
    """Parse LF-only bytes; the decoder knows the body charset for 8-bit headers."""
    message = PARSER.parsebytes(normalised)
    raw_values = [str(v) for _, v in message.raw_items()]
    tree = Tree(HeaderDecoder(raw_values, first_text_charset(message)))
    tree.walk([message], text=tree.text, html=tree.html)
    return message, tree
