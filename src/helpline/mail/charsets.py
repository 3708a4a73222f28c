"""Turning bytes of unknown or mislabelled charset into text, never raising.

The happy path (declared charset decodes strictly) never calls charset-normalizer;
detection is only used when strict decoding fails.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from functools import lru_cache

# Labels seen in the wild that Python does not know, or knows under a codec narrower
# than what the senders using the label produce (WHATWG Encoding Standard).
_ALIASES: dict[str, str] = {
    "unicode-1-1-utf-7": "utf-7",
    "unicode-2-0-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "utf7": "utf-7",
    "utf8": "utf-8",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "iso-8859-1:1987": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "windows-874": "cp874",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "x-gbk": "gbk",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
}
# Codecs tried after the declared one fails: the vendor supersets that senders using
# the label really produce. The declared codec goes first, as the supersets map a few
# byte sequences to other characters (Big5-HKSCS kana, cp932's wave dash).
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "iso8859-1": ("latin-1",),
    "cp1252": ("latin-1",),
    "tis-620": ("cp874",),
    "euc_kr": ("cp949",),
    "gb2312": ("gbk", "gb18030"),
    "gbk": ("gb18030",),
    "big5": ("cp950", "big5hkscs"),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "euc_jp": ("euc_jis_2004",),
    # Python's iso2022_jp is strict; mailers use vendor extensions.
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3"),
}
# Labels that carry no information.
_UNKNOWN = frozenset(
    {
        "",
        "unknown",
        "x-unknown",
        "unknown-8bit",
        "x-user-defined",
        "default",
        "charset",
        "none",
        "binary",
        "8bit",
        "7bit",
    }
)
# Codecs that are not charsets, or that would interpret the bytes as something else.
_REFUSED = frozenset(
    {
        "unicode_escape",
        "raw_unicode_escape",
        "undefined",
        "idna",
        "punycode",
        "mbcs",
        "oem",
    }
)
# Codecs in which ASCII bytes can stand for other characters: escape sequences
# (ISO-2022-*), '~{' (HZ), '+' (UTF-7). 7-bit data in them is not ASCII text.
_SHIFTING = ("iso2022", "hz", "utf-7")
# A byte order mark, and the codec it selects; UTF-32-LE's starts with UTF-16-LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SURROGATES = re.compile("[\ud800-\udfff]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r"


@lru_cache(maxsize=256)
def resolve(label: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None if unknown/unusable."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    if name in _UNKNOWN:
        return None
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if info.name in _REFUSED or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


@lru_cache(maxsize=256)
def shifting(codec: str) -> bool:
    """True for 7-bit codecs where ASCII bytes switch to other characters
    (ISO-2022-*, HZ, UTF-7)."""
    return codec.startswith(_SHIFTING)


@lru_cache(maxsize=256)
def ascii_compatible(codec: str) -> bool:
    """True if ASCII bytes always mean ASCII in this codec: every byte below 0x80
    decodes to itself and no escape or shift turns them into other characters.
    False for ISO-2022-*, HZ, UTF-7, UTF-16/32 and EBCDIC."""
    if shifting(codec):
        return False
    seven_bit = bytes(range(0x80))
    try:
        return seven_bit.decode(codec) == seven_bit.decode("ascii")
    except (UnicodeError, LookupError):
        return False


@lru_cache(maxsize=256)
def utf8_first(codec: str) -> bool:
    """True if valid UTF-8 labelled with this charset is almost surely UTF-8: 8-bit
    code pages (latin-1, cp1252, koi8-r: most high bytes decode on their own) and
    7-bit encodings (ASCII, ISO-2022-JP, UTF-7), where high bytes have no place.
    Never for codecs in which ASCII is not ASCII (UTF-16, EBCDIC)."""
    if codec == "utf-8":
        return False
    if codec == "ascii" or shifting(codec):
        return True
    if not ascii_compatible(codec):
        return False
    alone = 0
    for byte in range(0x80, 0x100):
        try:
            bytes([byte]).decode(codec)
        except (UnicodeError, LookupError):
            continue
        alone += 1
    return alone >= 100


def sniff_bom(data: bytes) -> str | None:
    """The codec a byte order mark at the start of data selects, or None."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    return None


def _unlikely(text: str) -> tuple[int, int]:
    """How implausible a decoding is: (-ASCII characters, unassigned/private/control).
    Byte-swapped UTF-16 turns spaces, digits and line breaks into CJK or unassigned
    code points, so the right byte order has more ASCII and fewer odd characters."""
    ascii_count = sum(1 for ch in text if ch < "\x80")
    odd = sum(
        1
        for ch in text
        if ch >= "\x80" and unicodedata.category(ch) in ("Cn", "Co", "Cs", "Cc")
    )
    return -ascii_count, odd


def _byte_order(data: bytes, codec: str) -> tuple[str, ...]:
    """UTF-16/32 without a byte order mark: big-endian per RFC 2781, unless the
    little-endian reading (Windows programs write it) is clearly the better one."""
    be, le = f"{codec}-be", f"{codec}-le"
    scores = []
    for order in (be, le):
        try:
            scores.append((_unlikely(data[:4096].decode(order)), order))
        except UnicodeDecodeError:
            try:
                text = data[:4096].decode(order, "replace")
            except UnicodeDecodeError:
                continue
            # A truncated final character is no reason to prefer the other order.
            scores.append(((1, text.count("\ufffd")), order))
    scores.sort(key=lambda pair: pair[0])
    return tuple(order for _, order in scores) or (be, le)


def _candidates(codec: str, data: bytes) -> tuple[str, ...]:
    if codec in ("utf-16", "utf-32") and sniff_bom(data) != codec:
        return _byte_order(data, codec)
    return (codec, *_SUPERSETS.get(codec, ()))


def _strict(data: bytes, codec: str) -> str | None:
    for candidate in _candidates(codec, data):
        try:
            return data.decode(candidate)
        except (UnicodeError, LookupError):
            continue
    return None


def _detect(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's best guess as (text, codec), or None."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:65536]).best()
    except Exception:  # detection is best effort
        return None
    if best is None:
        return None
    codec = resolve(best.encoding)
    if codec is None:
        return None
    if codec.startswith(("utf-16", "utf-32")) and b"\x00" not in data:
        return None
    text = _strict(data, codec)
    if text is None:
        return None
    return text, codec


def _mostly(data: bytes, codec: str) -> str | None:
    """Decode with replacement if only a few bytes are bad (a truncated sequence)."""
    try:
        text = data.decode(codec, "replace")
    except (UnicodeError, LookupError):
        return None
    bad = text.count("\ufffd")
    non_ascii = sum(1 for ch in text if ord(ch) > 0x7F)
    if bad <= max(1, non_ascii // 50):
        return text
    return None


def decode_shifted(data: bytes, declared: str | None) -> str | None:
    """Text of 7-bit data written in a shifting codec, or None if it is plain ASCII.

    The codec is the declared one if it shifts (HZ, UTF-7, ISO-2022-*); escape
    sequences also mean ISO-2022-JP (or its extensions) or ISO-2022-KR when nothing
    says so: Japanese mail often carries them raw in headers and undeclared bodies.
    """
    codec = resolve(declared)
    tried = [codec] if codec is not None and shifting(codec) else []
    if b"\x1b" in data:
        tried += ["iso2022_jp", "iso2022_kr"]
    for candidate in tried:
        text = _strict(data, candidate)
        if text is not None and not text.isascii():
            return text
    return None


def decode_body(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode a text body: (text, note). The note says what was repaired, if anything.

    Order: the declared charset strictly (but valid UTF-8 labelled as an 8-bit code
    page is UTF-8); then UTF-8; then the declared charset with a few replacements;
    then charset-normalizer's guess; then cp1252/latin-1. With no usable declared
    charset, a byte order mark or ISO-2022 escape sequences decide. 7-bit data is
    ASCII only for codecs in which ASCII bytes always mean ASCII (not ISO-2022-*,
    HZ, UTF-7, UTF-16/32 or EBCDIC). A leading byte order mark is dropped.
    """
    text, note = _decode_body(data, declared)
    return text.removeprefix("\ufeff"), note


def _decode_body(data: bytes, declared: str | None) -> tuple[str, str | None]:
    codec = resolve(declared)
    is_ascii = data.isascii()
    if codec is None:
        codec = sniff_bom(data)
    if is_ascii and (codec is None or codec == "ascii"):
        shifted = decode_shifted(data, None)
        return (data.decode("ascii") if shifted is None else shifted), None
    if codec is not None:
        if is_ascii and ascii_compatible(codec):
            return data.decode("ascii"), None
        if not is_ascii and utf8_first(codec):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                return text, f"declared charset {declared} but the content is UTF-8"
        text_or_none = _strict(data, codec)
        if text_or_none is not None:
            return text_or_none, None
    prefix = (
        f"content not valid {declared}"
        if resolve(declared)
        else (f"unknown charset {declared!r}" if declared else "no charset declared")
    )
    if codec != "utf-8":
        try:
            return data.decode("utf-8"), f"{prefix}; decoded as UTF-8"
        except UnicodeDecodeError:
            pass
    if codec is not None:
        mostly = _mostly(data, codec)
        if mostly is not None:
            return mostly, f"{prefix}; undecodable bytes replaced"
    detected = _detect(data)
    if detected is not None:
        return detected[0], f"{prefix}; detected {detected[1]}"
    if codec is not None:
        try:
            return data.decode(codec, "replace"), f"{prefix}; bytes replaced"
        except (UnicodeError, LookupError):
            pass
    last = _strict(data, "cp1252")
    return (last if last is not None else data.decode("latin-1")), (
        f"{prefix}; decoded as windows-1252"
    )


def decode_fragment(data: bytes, declared: str | None) -> str:
    """Decode a short piece (an encoded word, a filename): no detection, never raises.

    Byte order marks (one per encoded word, in UTF-16 or UTF-8-SIG words joined
    together) are dropped: a zero-width no-break space means nothing in a header.
    """
    return _decode_fragment(data, declared).replace("\ufeff", "")


def _decode_fragment(data: bytes, declared: str | None) -> str:
    codec = resolve(declared) or sniff_bom(data)
    if codec is None or codec == "ascii" or shifting(codec):
        shifted = decode_shifted(data, codec) if data.isascii() else None
        if shifted is not None:
            return shifted
    if codec is not None:
        if data.isascii() and ascii_compatible(codec):
            return data.decode("ascii")
        if utf8_first(codec) and not data.isascii():
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        text = _strict(data, codec)
        if text is not None:
            return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None:
        mostly = _mostly(data, codec)
        if mostly is not None:
            return mostly
    text = _strict(data, "cp1252")
    return text if text is not None else data.decode("latin-1")


def guess_header_charset(samples: list[bytes], body_charset: str | None) -> str:
    """Codec for raw 8-bit header bytes that are not UTF-8.

    Tried in order: the body's declared charset (the sending program almost always
    uses one charset for both), charset-normalizer's guess over all 8-bit header
    bytes of the message pooled together, then windows-1252. Short strings alone are
    too little for statistical detection (it calls "Café" cp1250), hence the pooling
    and the body charset first. Only codecs in which ASCII is ASCII qualify: raw
    bytes sit between the header's ASCII syntax, so a UTF-16 or EBCDIC body says
    nothing about them.
    """
    pooled = b"\n".join(samples)
    codec = resolve(body_charset)
    if (
        codec is not None
        and codec not in ("ascii", "utf-8")
        and ascii_compatible(codec)
        and _strict(pooled, codec) is not None
    ):
        return codec
    non_ascii = sum(1 for b in pooled if b > 0x7F)
    if non_ascii >= 8:
        detected = _detect(pooled)
        if (
            detected is not None
            and detected[1] not in ("ascii", "utf-8")
            and ascii_compatible(detected[1])
        ):
            return detected[1]
    return "cp1252"


def clean_text(text: str) -> str:
    """Line endings to \\n, no NUL, no lone surrogates (safe for PostgreSQL/UTF-8)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii() and _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text


def to_bytes(value: str) -> bytes:
    """Bytes of a header value parsed from bytes (8-bit bytes arrive as surrogates)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")
