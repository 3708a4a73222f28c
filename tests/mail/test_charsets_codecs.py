"""Every text codec Python knows decodes right, in every place a charset is declared.

For each codec and each sample of real text it can encode, a message is built with
the subject, the From display name, the body and two attachment names in that
charset (RFC 2047 B and Q words, RFC 2231 parameters, base64, quoted-printable and,
where the codec allows it, 8bit/7bit bodies and raw header bytes), and
parse_message must return the exact text. Stateful and 7-bit codecs (ISO-2022-*,
UTF-7, HZ), EBCDIC code pages and UTF-16/32 with and without a byte order mark are
among them: an ASCII shortcut or byte-level processing that assumes an
ASCII-compatible charset shows up here as mojibake.
"""

from __future__ import annotations

import base64
import codecs
import encodings
import pkgutil
import quopri
import urllib.parse

import pytest

from helpline.mail.parse import ParsedMessage, parse_message

# Not charsets: they turn text into other text or into escapes.
_NOT_CHARSETS = {
    "charmap",
    "idna",
    "punycode",
    "raw-unicode-escape",
    "undefined",
    "unicode-escape",
}


def _text_codecs() -> list[str]:
    found = set()
    for module in pkgutil.iter_modules(encodings.__path__):
        try:
            info = codecs.lookup(module.name)
        except LookupError:
            continue
        if getattr(info, "_is_text_encoding", True):
            found.add(info.name)
    return sorted(found - _NOT_CHARSETS)


CODECS = _text_codecs()

SAMPLES = {
    "ascii": "Plain question: a+b=c, ~home~ 100% {ok} [x] done",
    "japanese": "記事の誤りについてのお問い合わせ。山田太郎です",
    "chinese-simplified": "关于文章中的错误，请尽快更正。谢谢",
    "chinese-traditional": "關於文章中的錯誤，請盡快更正。謝謝",
    "korean": "기사의 오류에 대한 문의입니다. 감사합니다",
    "cyrillic": "Ошибка в статье о моём дедушке. Спасибо",
    "greek": "Λάθος στο άρθρο για τον παππού μου. Ευχαριστώ",
    "arabic": "خطأ في المقال عن جدي. شكرا لكم",
    "hebrew": "שגיאה במאמר על סבא שלי. תודה רבה",
    "thai": "ข้อผิดพลาดในบทความเกี่ยวกับคุณปู่ของฉัน ขอบคุณ",
    "devanagari": "मेरे दादाजी के बारे में लेख में त्रुटि है। धन्यवाद",
    "latin-french": "Erreur dans l'article sur mon grand-père, ça déçoit",
    "latin-german": "Grüße aus Zürich: Fehler über meinen Großvater",
    "latin-central": "Chyba v článku o dědečkovi z Łodzi, Žluťoučký kůň",
    "latin-turkish": "Dedem hakkındaki makalede hata var, teşekkürler",
    "mixed-emoji": "Danke 🙏 記事 관련 Ошибка αβγ شكرا שלום ขอบคุณ हिन्दी 😀",
}


def _encodable(codec: str) -> list[str]:
    names = []
    for name, text in SAMPLES.items():
        try:
            if text.encode(codec).decode(codec) == text:
                names.append(name)
        except (UnicodeError, LookupError):
            continue
    return names


CASES = [(codec, sample) for codec in CODECS for sample in _encodable(codec)]
_STATEFUL_7BIT = ("iso2022", "hz", "utf-7")


def _chunks(text: str, size: int = 9) -> list[bytes]:
    """The text in pieces, each encoded on its own: a stateful codec returns to its
    initial state at the end of each piece, as RFC 2047 asks of every encoded word."""
    return [text[i : i + size] for i in range(0, len(text), size)]  # type: ignore[misc]


def b_words(text: str, codec: str) -> str:
    return "\n ".join(
        f"=?{codec}?B?{base64.b64encode(piece.encode(codec)).decode()}?="
        for piece in _chunks(text)
    )


def q_words(text: str, codec: str) -> str:
    def q(data: bytes) -> str:
        return "".join(
            chr(b) if chr(b).isascii() and chr(b).isalnum() else f"={b:02X}"
            for b in data
        )

    return "\n ".join(
        f"=?{codec}?Q?{q(piece.encode(codec))}?=" for piece in _chunks(text)
    )


def rfc2231(text: str, codec: str) -> str:
    quoted = urllib.parse.quote(text.encode(codec), safe="")
    pieces = [quoted[i : i + 60] for i in range(0, len(quoted), 60)]
    # Never split a %XX escape.
    fixed: list[str] = []
    carry = ""
    for piece in pieces:
        piece = carry + piece
        cut = piece.rfind("%", len(piece) - 2)
        carry, piece = (piece[cut:], piece[:cut]) if cut >= 0 else ("", piece)
        fixed.append(piece)
    if carry:
        fixed.append(carry)
    return "".join(
        f";\n filename*{n}*={codec}''{p}" if n == 0 else f";\n filename*{n}*={p}"
        for n, p in enumerate(fixed)
    )


def message(text: str, codec: str, *, body_cte: str, raw_headers: bool) -> bytes:
    encoded = text.encode(codec)
    if body_cte == "base64":
        body = base64.encodebytes(encoded)
    elif body_cte == "quoted-printable":
        body = quopri.encodestring(encoded)
    else:
        body = encoded
    if raw_headers:
        subject = encoded
        sender = b'"' + encoded + b'" <jane@example.net>'
    else:
        subject = b_words(text, codec).encode()
        sender = q_words(text, codec).encode() + b" <jane@example.net>"
    head = b"\n".join(
        [
            b"From: " + sender,
            b"To: info-en@helpline.localhost",
            b"Subject: " + subject,
            b"Message-ID: <charset-test@example.net>",
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="b0undary"',
        ]
    )
    parts = [
        b"Content-Type: text/plain; charset=" + codec.encode() + b"\n"
        b"Content-Transfer-Encoding: " + body_cte.encode() + b"\n\n" + body,
        b"Content-Type: application/octet-stream\n"
        b"Content-Disposition: attachment"
        + rfc2231(text + ".txt", codec).encode()
        + b"\nContent-Transfer-Encoding: base64\n\nAAAA\n",
        b'Content-Type: application/octet-stream; name="'
        + b_words(text + ".pdf", codec).encode()
        + b'"\nContent-Disposition: attachment\n'
        b"Content-Transfer-Encoding: base64\n\nAAAA\n",
    ]
    return (
        head
        + b"\n\n"
        + b"".join(b"--b0undary\n" + p.rstrip(b"\n") + b"\n" for p in parts)
        + b"--b0undary--\n"
    )


def _check(parsed: ParsedMessage, text: str, *, headers: bool = True) -> None:
    assert parsed.body_text == text
    if headers:
        assert parsed.subject == text
        assert parsed.from_ is not None
        assert parsed.from_.name == text
        assert parsed.from_.email == "jane@example.net"
    names = [a.filename for a in parsed.attachments]
    assert names == [text + ".txt", text + ".pdf"]


def _ascii_transparent(codec: str) -> bool:
    """Bytes 0x00-0x7F mean ASCII in this codec, and no other character uses them."""
    if codec.startswith(("utf-16", "utf-32", "utf-8-sig")) or codec.startswith(
        _STATEFUL_7BIT
    ):
        return False
    try:
        return bytes(range(128)).decode(codec) == bytes(range(128)).decode("ascii")
    except UnicodeError:
        return False


@pytest.mark.parametrize(("codec", "sample"), CASES)
@pytest.mark.parametrize("cte", ["base64", "quoted-printable"])
def test_encoded_words_rfc2231_names_and_transfer_encoded_bodies_decode_exactly(
    codec: str, sample: str, cte: str
) -> None:
    text = SAMPLES[sample]
    _check(parse_message(message(text, codec, body_cte=cte, raw_headers=False)), text)


def _raw_cases() -> list[tuple[str, str]]:
    """Codecs whose text can stand raw in a header: 7-bit stateful ones and those
    where ASCII bytes are ASCII (8-bit code pages, EUC, Shift_JIS, Big5, GB*)."""
    return [
        (codec, sample)
        for codec, sample in CASES
        if sample != "ascii"
        and (codec.startswith(_STATEFUL_7BIT) or _ascii_transparent(codec))
        and b"\n" not in SAMPLES[sample].encode(codec)
    ]


@pytest.mark.parametrize(("codec", "sample"), _raw_cases())
def test_raw_headers_and_unencoded_bodies_decode_with_the_body_charset(
    codec: str, sample: str
) -> None:
    text = SAMPLES[sample]
    cte = "7bit" if SAMPLES[sample].encode(codec).isascii() else "8bit"
    # Raw UTF-7 is not looked for in headers: 'jane+tag@example.net' is valid UTF-7.
    raw_headers = codec != "utf-7"
    _check(
        parse_message(message(text, codec, body_cte=cte, raw_headers=raw_headers)),
        text,
    )


_WIDE = [c for c in CODECS if c.startswith(("utf-16", "utf-32"))]
_WIDE_CASES = [
    (codec, bom)
    for codec in _WIDE
    # A byte order mark goes with the labels that leave the order open.
    for bom in (["", "big-endian", "little-endian"] if "-" not in codec[4:] else [""])
]


@pytest.mark.parametrize(("codec", "bom"), _WIDE_CASES)
def test_utf16_and_utf32_bodies_with_and_without_byte_order_mark(
    codec: str, bom: str
) -> None:
    """Text with NUL bytes in every character, declared 'utf-16' (or -32) with a BOM
    of either order or none (RFC 2781: big-endian then; little-endian is also seen
    and recognised), or declared with the order in the label; base64,
    quoted-printable and binary transfer encodings."""
    text = SAMPLES["mixed-emoji"] + "\nLine two: ok\n"
    width = "16" if "16" in codec else "32"
    if codec in ("utf-16", "utf-32"):
        order = {"": "be", "big-endian": "be", "little-endian": "le"}[bom]
        data = text.encode(f"utf-{width}-{order}")
        if bom:
            data = ("\ufeff").encode(f"utf-{width}-{order}") + data
        variants = [data]
        if not bom:  # a BOM-less little-endian body also happens in the wild
            variants.append(text.encode(f"utf-{width}-le"))
    else:
        variants = [text.encode(codec)]
    for data in variants:
        for cte, body in (
            ("base64", base64.encodebytes(data)),
            ("quoted-printable", quopri.encodestring(data)),
            ("binary", data),
        ):
            if cte == "binary" and b"\r" in data:
                continue
            raw = (
                b"Subject: x\nContent-Type: text/plain; charset="
                + codec.encode()
                + b"\nContent-Transfer-Encoding: "
                + cte.encode()
                + b"\n\n"
                + body
            )
            assert parse_message(raw).body_text == text.rstrip("\n"), (cte, data[:8])
