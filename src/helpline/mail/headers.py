"""Header decoding: RFC 2047 words, raw 8-bit bytes, addresses, message ids, dates,
RFC 2231 parameters and safe filenames. Pure functions; nothing here raises."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

from helpline.mail import charsets

__all__ = [
    "Address",
    "HeaderDecoder",
    "decode_words",
    "normalize_message_id",
    "parse_date",
    "parse_message_ids",
    "safe_filename",
]


@dataclass(frozen=True)
class Address:
    name: str  # decoded display name, '' if none
    email: str  # addr-spec, lower-cased domain part; '' if unparseable


# An encoded word. The encoded text may not hold '?'; broken encoders put spaces in it.
_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?]*)\?=")
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_JUNK = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MSGID = re.compile(r"<([^<>]*)>")
_COMMENT = re.compile(r"\([^()]*\)")
_QUOTED = re.compile(r'"[^"]*"')
_EMAILISH = re.compile(r"[^\s<>()\[\],;:\"]+@[^\s<>()\[\],;:\"]+")
_FILENAME_BAD = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def _b64decode(text: str) -> bytes:
    """Lenient base64: ignore junk, repair missing or extra padding."""
    data = text.encode("ascii", "ignore").translate(None, _B64_JUNK)
    extra = len(data) % 4
    if extra == 1:
        data = data[:-1]
    elif extra:
        data += b"=" * (4 - extra)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return b""


def _qdecode(text: str) -> bytes:
    return binascii.a2b_qp(charsets.to_bytes(text), header=True)


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words anywhere in text, also when glued to other text.

    Whitespace between adjacent encoded words is dropped, and adjacent words in the
    same charset are joined before decoding, so a multi-byte character split across
    two words survives. Unknown charsets fall back to UTF-8, then windows-1252.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    run_charset: str | None = None
    run: list[bytes] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[pos : match.start()]
        if run_charset is not None and (gap == "" or gap.isspace()):
            gap = ""
        charset = match.group(1).split("*", 1)[0].lower()
        payload = match.group(3)
        data = _b64decode(payload) if match.group(2) in "bB" else _qdecode(payload)
        if run_charset is not None and (gap or charset != run_charset):
            out.append(_decode_run(run, run_charset))
            run_charset = None
            run = []
        if gap:
            out.append(gap)
        run_charset = charset
        run.append(data)
        pos = match.end()
    if run_charset is not None:
        out.append(_decode_run(run, run_charset))
    out.append(text[pos:])
    return "".join(out)


def _decode_run(words: list[bytes], charset: str) -> str:
    """Adjacent words in one charset, joined before decoding (a character may be
    split between two words) unless each starts with its own byte order mark, as
    UTF-16 words do; their byte orders may differ."""
    if len(words) > 1 and all(charsets.sniff_bom(word) for word in words):
        return "".join(charsets.decode_fragment(word, charset) for word in words)
    return charsets.decode_fragment(b"".join(words), charset)


def one_line(text: str) -> str:
    """No control characters (CR, LF, NUL, ...), whitespace collapsed, stripped."""
    if not text.isascii() or _CONTROLS.search(text):
        text = charsets.clean_text(_CONTROLS.sub(" ", text))
    return " ".join(text.split())


def unfold(value: str) -> str:
    """Undo header folding (the parser works on LF-only input)."""
    if "\n" in value or "\r" in value:
        value = value.replace("\n", "").replace("\r", " ")
    return value


class HeaderDecoder:
    """Decodes the header values of one message.

    Raw 8-bit bytes are decoded as UTF-8 when valid; otherwise one charset is
    guessed for the whole message from all its 8-bit header bytes and the body's
    declared charset (see charsets.guess_header_charset).
    """

    def __init__(self, raw_values: list[str], body_charset: str | None) -> None:
        self._raw_values = raw_values
        self._body_charset = body_charset
        self._codec: str | None = None
        self.notes: list[str] = []

    def _guess(self) -> str:
        if self._codec is None:
            samples = []
            for value in self._raw_values:
                if not value.isascii():
                    data = charsets.to_bytes(value)
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError:
                        samples.append(data)
            self._codec = charsets.guess_header_charset(samples, self._body_charset)
            self.notes.append(f"raw 8-bit header bytes decoded as {self._codec}")
        return self._codec

    def eight_bit(self, value: str) -> str:
        """Replace raw 8-bit bytes (surrogate-escaped by the parser) with text."""
        if value.isascii():
            # Raw 7-bit text of a shifting codec: ISO-2022 escape sequences, or the
            # HZ of the body; decoded before any parsing, as its bytes include '"',
            # '<', '@' and '\\'. Not UTF-7: 'jane+tag@example.net' is valid UTF-7.
            if "\x1b" not in value and "~" not in value:
                return value
            hint = self._body_charset
            if charsets.resolve(hint) == "utf-7":
                hint = None
            shifted = charsets.decode_shifted(value.encode("ascii"), hint)
            return value if shifted is None else shifted
        data = charsets.to_bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        codec = self._guess()
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            return data.decode(codec, "replace")

    def text(self, value: str) -> str:
        """An unstructured value (Subject): decoded, on one line, whitespace collapsed."""
        return one_line(decode_words(self.eight_bit(unfold(value))))

    def value(self, value: str) -> str:
        """Any header value for display and filters: decoded, no CR/LF/NUL."""
        text = decode_words(self.eight_bit(unfold(value)))
        if not text.isascii() or "\r" in text or "\n" in text or "\x00" in text:
            text = charsets.clean_text(text).replace("\n", " ")
        return text.strip()

    def addresses(self, value: str) -> list[Address]:
        return parse_addresses(self.eight_bit(unfold(value)))

    def param(self, value: str | tuple[str, str, str]) -> str:
        """A MIME parameter value: RFC 2231 tuple, RFC 2047 words or raw 8-bit."""
        if isinstance(value, tuple):
            charset, _language, text = value
            try:
                data = text.encode("latin-1")
            except UnicodeEncodeError:
                data = charsets.to_bytes(text)
            return charsets.clean_text(charsets.decode_fragment(data, charset or None))
        return charsets.clean_text(decode_words(self.eight_bit(unfold(value))))


def _address(name: str, addr: str) -> Address | None:
    name = one_line(decode_words(name)).strip("\"' ")
    addr = addr.strip().strip("<>").strip()
    if not addr and not name:
        return None
    if addr and (" " in addr or "@" not in addr):
        # 'John Doe john@example.com' or a bare word: keep what looks like an address.
        found = _EMAILISH.search(addr)
        if found:
            rest = (addr[: found.start()] + addr[found.end() :]).strip()
            name = name or one_line(decode_words(rest)).strip("\"' ")
            addr = found.group(0)
        else:
            name = name or one_line(decode_words(addr))
            addr = ""
    email = ""
    if addr and not _CONTROLS.search(addr):
        local, _, domain = addr.rpartition("@")
        if local and domain:
            email = f"{local}@{domain.lower()}"
    return Address(name=name, email=email)


def parse_addresses(value: str) -> list[Address]:
    """Addresses of an address-list header value (8-bit already decoded)."""
    try:
        pairs = getaddresses([value])
    except Exception:  # the stdlib parser has had crashes on odd input
        pairs = [("", found) for found in _EMAILISH.findall(value)]
    result: list[Address] = []
    for name, addr in pairs:
        address = _address(name, addr)
        if address is None:
            continue
        if not address.email and "=?" in addr + name:
            # The whole "Name <addr>" was one encoded word.
            decoded = decode_words(addr or name)
            if decoded != (addr or name) and "@" in decoded:
                result.extend(parse_addresses(decoded) or [address])
                continue
        result.append(address)
    return result


def normalize_message_id(value: str) -> str:
    """'<a@b>' -> 'a@b': the first bracketed id, no whitespace; used for threading."""
    match = _MSGID.search(value)
    if match:
        value = match.group(1)
    value = value.strip().strip("<>")
    if not value.isascii() or _CONTROLS.search(value):
        value = _CONTROLS.sub("", charsets.clean_text(value))
    return "".join(value.split())


def parse_message_ids(value: str) -> list[str]:
    """Message ids of References / In-Reply-To, in order, ignoring text between them
    (comments, quoted phrases such as 'Your message of "..."')."""
    stripped = _QUOTED.sub(" ", value)
    for _ in range(3):
        if "(" not in stripped:
            break
        stripped = _COMMENT.sub(" ", stripped)
    found = _MSGID.findall(stripped) or _MSGID.findall(value)
    if not found:
        found = [t.strip("<>,;()\"'") for t in value.split() if "@" in t]
    ids: list[str] = []
    for raw_id in found:
        msgid = normalize_message_id(raw_id)
        if msgid and msgid not in ids:
            ids.append(msgid)
    return ids


def parse_date(value: str) -> datetime | None:
    """A timezone-aware datetime, UTC when the zone is missing or -0000."""
    try:
        parsed = parsedate_to_datetime(one_line(value))
    except Exception:  # malformed dates raise ValueError/TypeError/IndexError
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def safe_filename(name: str, *, keep_slashes: bool = False) -> str:
    """No directories, no control or bidi characters, at most 255 characters.

    Returns '' when nothing usable is left; callers make a name up then. With
    keep_slashes the separators become '-' (for names made from a subject).
    """
    name = charsets.clean_text(name)
    if keep_slashes:
        name = name.replace("/", "-").replace("\\", "-")
    else:
        name = re.split(r"[/\\]", name)[-1]
    name = " ".join(_FILENAME_BAD.sub(" ", name).split()).strip(" .")
    if not name.strip("."):
        return ""
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: 254 - len(ext)].rstrip(" .") + "." + ext
        else:
            name = name[:255].rstrip(" .")
    return name
