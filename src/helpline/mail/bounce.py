"""Read delivery reports: RFC 3464 DSNs and the free-text bounces of common MTAs.

``parse_report(msg)`` returns the bounced recipients (address, status, SMTP
reply code, reason) and the Message-IDs of the returned original message.
It only reads the message; it never raises for well-formed or broken input
(callers still guard it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message

from helpline.mail.bounce_reasons import decide_reason, is_hard

# An address; the look-behind makes the engine start only at the beginning of
# a word, which keeps the search linear on long runs of address characters.
ADDR = (
    r"(?<![A-Za-z0-9.!#$%&'*+/=?^_`{|}~\"-])"
    r"(?:\"[^\"\s@<>]{1,64}\"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64})"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)
_ADDR_RE = re.compile(ADDR)
_STATUS_RE = re.compile(
    r"(?<![\w./])(?<![A-Za-z_]-)([245])\.(\d{1,3})\.(\d{1,3})(?![\d])"
)
_CODE_STATUS_RE = re.compile(
    r"(?<![\w.:/\-])([245][0-5]\d)[ \-]+#?\(?[245]\.\d{1,3}\.\d{1,3}(?!\d)"
)
_CODE_LEAD_RE = re.compile(
    r"(?:^|said:|reason:|error:|returned ['\"]|[<>]{3}|\(#|: )\s{0,12}['\"#(]?"
    r"([245][0-5]\d)(?=[\s\-:]|$)(?![\-]?\d)",
    re.MULTILINE | re.IGNORECASE,
)
_MSGID_RE = re.compile(
    r"^[ \t>]*(?:X-Original-)?Message-I[Dd]:[ \t]*\r?\n?[ \t]*<([^<>\s]+@[^<>\s]+)>",
    re.MULTILINE | re.IGNORECASE,
)
# A line that starts the copy of the original message inside a text bounce.
_SPLIT_RE = re.compile(
    r"^[ \t>]*(?:-+[ \t]*)?(?:"
    r"original message(?! was received)|returned message|undelivered message|"
    r"(?:the )?(?:original )?message headers? follows?|original message headers|"
    r"this is a copy of|below (?:this line )?is a copy|"
    r"the header of the original message|included is a copy|"
    r"(?:a )?copy of (?:the|your) (?:original )?message|"
    r"the (?:original )?message (?:header|text|body)s? (?:is|are) (?:attached|below)|"
    r"original mail|message header follows|"
    r"header of (?:the )?(?:original|returned) message|original message follows"
    r")",
    re.MULTILINE | re.IGNORECASE,
)
_HEADER_LINE = re.compile(
    r"^(?:Return-Path|Received|Message-I[Dd]|DKIM-Signature|From|Date|Subject|"
    r"To|MIME-Version|Content-Type|X-[A-Za-z0-9-]+):[ \t]?",
    re.IGNORECASE,
)
_MAX_TEXT = 200_000  # characters of body text worth reading in a report
_MAX_BLOCK = 4_000  # characters of text about one recipient
_MAX_RECIPIENTS = 50
_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*)$")
_TAG_RE = re.compile(r"<[^>]*>")


@dataclass
class BouncedRecipient:
    """One recipient of a report (re-exported by helpline.mail.automatic)."""

    address: str  # lower-case; '' if unknown
    status: str  # RFC 3463 code as found in the report ("5.1.1"); '' if none
    reply_code: str  # SMTP reply code ("550"); '' if none
    reason: str  # sisimai-style reason name ("userunknown", "vacation", ...)
    hard: bool  # the address itself is permanently undeliverable


@dataclass
class Report:
    recipients: list[BouncedRecipient] = field(default_factory=list)
    original_message_ids: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    delivered_only: bool = False
    feedback: bool = False


# ---------------------------------------------------------------- text helpers


def decode_bytes(data: bytes, charset: str = "") -> str:
    """Decode a body, falling back through likely charsets; never raises."""
    tried: list[str] = []
    if b"\x1b$" in data or b"\x1b(" in data:
        tried.append("iso-2022-jp")
    if charset:
        tried.append(charset)
    tried += ["utf-8", "cp932"]
    for cs in tried:
        try:
            return data.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def part_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding
        data = None
    if isinstance(data, bytes):
        text = decode_bytes(data, part.get_content_charset() or "")
    else:
        raw = part.get_payload()
        text = raw if isinstance(raw, str) else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_type() == "text/html":
        text = _TAG_RE.sub("", re.sub(r"(?i)<br\s*/?>|</p>", "\n", text))
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text


def split_original(text: str) -> tuple[str, str]:
    """Split a text bounce into (report, inline copy of the original)."""
    m = _SPLIT_RE.search(text)
    cut = m.start() if m else len(text)
    lines = text[:cut].split("\n")
    pos = 0
    for i, line in enumerate(lines):
        if i and _HEADER_LINE.match(line) and _header_block(lines, i):
            cut = pos
            break
        pos += len(line) + 1
    return text[:cut], text[cut:]


def _header_block(lines: list[str], start: int) -> bool:
    """Do the lines from `start` look like the header of a returned message?"""
    names: list[str] = []
    for line in lines[start : start + 12]:
        if not line.strip():
            break
        if line[:1] in (" ", "\t"):
            continue
        m = _HEADER_LINE.match(line)
        if not m:
            break
        names.append(line.split(":", 1)[0].lower())
    typical = {"received", "return-path", "message-id", "mime-version"}
    return len(names) >= 3 and bool(typical & set(names))


def message_ids(text: str) -> list[str]:
    return [m.group(1) for m in _MSGID_RE.finditer(text)]


# ------------------------------------------------------------------ MIME walk


@dataclass
class Parts:
    texts: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    dsn: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    original_ids: list[str] = field(default_factory=list)
    originals: list[Message] = field(default_factory=list)


def _fields_text(part: Message) -> str:
    """A delivery-status or feedback-report part as 'Name: value' blocks."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return part_text(part)
    blocks = [b.raw_items() for b in payload if isinstance(b, Message)]
    return "\n\n".join("\n".join(f"{k}: {v}" for k, v in b) for b in blocks)


def collect_parts(msg: Message, into: Parts | None = None, depth: int = 0) -> Parts:
    parts = into if into is not None else Parts()
    if depth > 8:
        return parts
    ctype = msg.get_content_type()
    payload = msg.get_payload()
    if depth and msg.get("Message-ID"):  # a returned header glued onto a part
        parts.original_ids += re.findall(r"<([^<>\s]+)>", str(msg["Message-ID"]))[:1]
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        parts.dsn.append(_fields_text(msg))
    elif ctype == "message/feedback-report":
        parts.feedback.append(_fields_text(msg))
    elif ctype in ("message/rfc822", "message/global") and isinstance(payload, list):
        for inner in payload:
            if isinstance(inner, Message):
                parts.originals.append(inner)
                mid = str(inner.get("Message-ID", "") or "").strip()
                parts.original_ids += re.findall(r"<([^<>\s]+)>", mid)[:1]
    elif ctype in ("text/rfc822-headers", "message/rfc822-headers", "message/rfc822"):
        parts.original_ids += message_ids(part_text(msg))
    elif msg.is_multipart() and isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                collect_parts(sub, parts, depth + 1)
    elif ctype == "text/html":
        parts.html.append(part_text(msg))
    elif ctype in ("text/plain", "text/delivery-status") or (
        ctype.startswith(("text/", "multipart/"))  # multipart: broken boundary
        and msg.get_content_disposition() != "attachment"
    ):
        parts.texts.append(part_text(msg))
    return parts


# ------------------------------------------------------------ DSN field blocks


def parse_fields(text: str) -> list[dict[str, str]]:
    """Blocks of 'Name: value' lines (continuations joined), lower-case names."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
            continue
        if line[:1] in (" ", "\t") and last:
            current[last] += " " + line.strip()
            continue
        m = _FIELD_RE.match(line.strip())
        if m:
            last = m.group(1).lower()
            if last in current:  # recipients not separated by a blank line
                blocks.append(current)
                current = {}
            current[last] = m.group(2).strip()
        else:
            last = ""
    if current:
        blocks.append(current)
    return blocks


def _typed(value: str) -> str:
    """'rfc822; a@b' -> 'a@b'; 'smtp; 550 ...' -> '550 ...'."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()


def clean_addr(value: str) -> str:
    m = _ADDR_RE.search(value)
    return m.group(0).lower().strip(".") if m else ""


def first_status(text: str, classes: str = "45") -> str:
    """The first RFC 3463 code of one of the given classes in the text."""
    for m in _STATUS_RE.finditer(text):
        if m.group(1) in classes:
            return ".".join(m.groups())
    return ""


def first_code(text: str) -> str:
    m = _CODE_STATUS_RE.search(text) or _CODE_LEAD_RE.search(text)
    return m.group(1) if m else ""


def squash(diag: str) -> str:
    """Join a multi-line SMTP reply: drop the repeated '550-5.7.1' prefixes."""
    first = _CODE_STATUS_RE.search(diag)
    if first:
        status = first_status(first.group(0), "245")
        again = re.compile(rf"\s{first.group(1)}[ -]+{re.escape(status)}(?=\s|$)")
        diag = diag[: first.end()] + again.sub(" ", diag[first.end() :])
    return " ".join(diag.split())


def make_recipient(
    address: str,
    status: str,
    diag: str,
    context: list[str],
    action: str,
    diag_type: str = "",
) -> BouncedRecipient:
    delivered = action.startswith(("deliver", "relay", "expand"))
    diag = squash(diag)
    code = first_code(diag) or next((c for c in map(first_code, context) if c), "")
    classes = "2" if delivered else "45"
    inner = first_status(diag, classes)
    if status and inner[:1] == status[:1] and not inner.endswith(".0.0"):
        status = inner  # the remote server's own code beats the relay's mapping
    for text in [diag, *context]:
        if status and not status.endswith(".0.0"):
            break
        better = first_status(text, classes)
        if better and (not status or not better.endswith(".0.0")):
            status = better
    delayed = action == "delayed"
    if delivered:
        reason = "delivered"
    else:
        reason = decide_reason(status, diag, context, delayed, diag_type)
    hard = is_hard(reason, status, code, delayed)
    return BouncedRecipient(address, status, code, reason, hard)


def dsn_recipients(dsn_text: str, context: str) -> list[BouncedRecipient]:
    out: list[BouncedRecipient] = []
    for block in parse_fields(dsn_text):
        raw = block.get("final-recipient") or block.get("original-recipient") or ""
        if not raw and "action" not in block:
            continue
        if len(out) == _MAX_RECIPIENTS:
            break
        address = clean_addr(_typed(raw))
        action = block.get("action", "").lower().split()[0:1]
        raw_diag = block.get("diagnostic-code", "")
        diag_type = raw_diag.split(";", 1)[0].strip() if ";" in raw_diag else ""
        status = first_status(block.get("status", ""), "245")
        local = recipient_block(context, address)
        diag = _typed(raw_diag)
        out.append(
            make_recipient(address, status, diag, [local], "".join(action), diag_type)
        )
    return out


# ----------------------------------------------------- free-text bounce bodies

_ALONE = re.compile(
    rf"^[ \t>*]*(?:>>>[ \t]*|recipient address:[ \t]*|rcpt to:[ \t]*<?|"
    rf"(?:could not be delivered to|undeliverable to|failed recipient):?[ \t]*)?"
    rf"<?({ADDR})>?(?:[ \t]*\(.*?\))?(?:<mailto:[^>]*>)?(?:[ \t]*<{ADDR}>)?"
    rf"(?:[:,]|[ \t]+on[ \t].*|[ \t]+\[.*\]|[ \t]+\(.*\))?[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_LEADING = re.compile(
    rf"^[ \t>*]*(?:[245]\d\d[ -]+)?<?({ADDR})>?(?:[:,.]|\s)", re.MULTILINE
)
_ANGLED = re.compile(rf"<({ADDR})>")
# Text right before an address that says it is the sender, not a recipient.
_SENDER_CUE = re.compile(r"(?:sent by|\bfrom:?)\s{0,9}<?$", re.IGNORECASE)


def text_recipients(report: str, exclude: set[str]) -> list[tuple[str, int, int]]:
    """(address, start, end) of each recipient's paragraph in a text report."""
    for patterns in ((_ALONE, _LEADING), (_ANGLED,), (_ADDR_RE,)):
        hits: list[tuple[str, int]] = []
        found = sorted(
            (m for p in patterns for m in p.finditer(report)), key=lambda m: m.start()
        )
        for m in found:
            addr = (m.group(1) if m.groups() else m.group(0)).lower().strip(".")
            before = report[max(0, m.start() - 40) : m.start()].lower()
            if addr in exclude or "mailer-daemon" in addr or _SENDER_CUE.search(before):
                continue
            if all(addr != a for a, _ in hits):
                hits.append((addr, m.start()))
                if len(hits) == _MAX_RECIPIENTS:
                    break
        if hits:
            spans = [s for _, s in hits] + [len(report)]
            return [(a, s, spans[i + 1]) for i, (a, s) in enumerate(hits)]
    return []


def recipient_block(text: str, address: str) -> str:
    i = text.lower().find(address) if address else -1
    return text[i : i + _MAX_BLOCK] if i >= 0 else text[:_MAX_BLOCK]


def text_report(report: str, exclude: set[str]) -> list[BouncedRecipient]:
    out: list[BouncedRecipient] = []
    found = text_recipients(report, exclude)
    whole = report[: _MAX_BLOCK * 4]
    for addr, start, end in found:
        block = report[start : min(end, start + _MAX_BLOCK)]
        context = [block] if "\n" in block.strip() else []
        out.append(make_recipient(addr, "", block, [*context, whole], ""))
    if not out and report.strip():
        out.append(make_recipient("", "", whole, [], ""))
        if out[0].reason == "onhold":
            out[0].reason = "undefined"  # nothing readable: no address, no cause
    return out


# -------------------------------------------------------------------- entries


def parse_report(msg: Message, exclude: set[str], failed: Sequence[str] = ()) -> Report:
    """Recipients and original Message-IDs of a (possible) delivery report.

    `exclude`: addresses that are not recipients (the report's From and To);
    `failed`: addresses from X-Failed-Recipients, used when the text names none.
    """
    parts = collect_parts(msg)
    rep = Report()
    texts = parts.texts or parts.html
    body = "\n".join(texts)[:_MAX_TEXT]
    report, original = split_original(body)
    rep.original_message_ids = list(parts.original_ids)
    for mid in message_ids(original) + message_ids(report):
        if mid not in rep.original_message_ids:
            rep.original_message_ids.append(mid)
    dsn = "\n\n".join(parts.dsn)
    if not dsn and re.search(r"(?im)^[ \t]*final-recipient:", report):
        dsn = report
    if dsn:
        rep.recipients = dsn_recipients(dsn, report)
        if rep.recipients:
            rep.evidence.append("RFC 3464 delivery-status fields")
    if not rep.recipients:
        rep.recipients = text_report(report, exclude)
        if rep.recipients and rep.recipients[0].address:
            rep.evidence.append("failed recipient found in the report text")
    for rcpt, addr in zip(rep.recipients, failed, strict=False):
        rcpt.address = rcpt.address or addr
    rep.delivered_only = bool(rep.recipients) and all(
        r.reason == "delivered" for r in rep.recipients
    )
    return rep
