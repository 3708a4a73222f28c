"""Focused cases for helpline.mail.parse (no database)."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from helpline.mail.parse import (
    Address,
    ParsedMessage,
    normalize_message_id,
    parse_message,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def message(headers: str, body: str = "Hello.\n", *, extra: bytes = b"") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode("ascii") + extra


def fields(parsed: ParsedMessage) -> dict[str, object]:
    return {k: v for k, v in vars(parsed).items() if k != "raw_sha256"}


# -- headers -------------------------------------------------------------------


def test_rfc2047_subject_in_utf8_is_decoded() -> None:
    parsed = parse_message(
        message("Subject: =?UTF-8?B?w4RyZ2VyIG1pdCBkZXIgUmVjaG51bmc=?=")
    )
    assert parsed.subject == "Ärger mit der Rechnung"


def test_rfc2047_subject_in_iso_8859_1_q_encoding_is_decoded() -> None:
    parsed = parse_message(message("Subject: =?iso-8859-1?q?Gr=FC=DFe_aus_K=F6ln?="))
    assert parsed.subject == "Grüße aus Köln"


def test_adjacent_encoded_words_join_and_a_split_character_survives() -> None:
    """Whitespace between encoded words is dropped; a UTF-8 character split over two
    words is reassembled; folding never leaves a line break in the subject."""
    euro = "€".encode()
    first = base64.b64encode(b"Price " + euro[:1]).decode()
    second = base64.b64encode(euro[1:] + b" 5").decode()
    parsed = parse_message(
        message(f"Subject: =?utf-8?B?{first}?=\n =?utf-8?B?{second}?=")
    )
    assert parsed.subject == "Price € 5"


def test_encoded_words_glued_to_text_and_unknown_charsets_are_decoded() -> None:
    parsed = parse_message(
        message("Subject: Re:=?utf-8?Q?caf=C3=A9?=(2) =?x-bogus?Q?na=C3=AFve?= end")
    )
    assert parsed.subject == "Re:café(2) naïve end"


def test_a_wrongly_labelled_encoded_word_does_not_give_mojibake() -> None:
    """UTF-8 bytes labelled ISO-8859-1 decode as UTF-8, not as 'Ã©'."""
    parsed = parse_message(message("Subject: =?iso-8859-1?Q?r=C3=A9sum=C3=A9?="))
    assert parsed.subject == "résumé"


def test_subject_has_no_control_characters_and_collapsed_whitespace() -> None:
    parsed = parse_message(message("Subject: =?utf-8?Q?a=0D=0Ab=00c?=   d\n\t e"))
    assert parsed.subject == "a b c d e"


def test_raw_8bit_latin1_headers_are_decoded() -> None:
    parsed = parse_message(fixture("latin1-raw-headers.eml"))
    assert parsed.subject == "Prüfung der Gebühren für März"
    assert parsed.from_ == Address(name="René Müller", email="rene@example.de")
    assert parsed.header("subject") == "Prüfung der Gebühren für März"
    assert parsed.body_text == "Grüße aus Köln."
    assert any("8-bit" in d for d in parsed.defects)


def test_raw_8bit_utf8_headers_are_decoded_without_a_defect() -> None:
    raw = (
        b"Subject: Stra\xc3\x9fe \xe2\x80\x93 Nr. 5\nFrom: J\xc3\xb6rg <j@x.de>\n\nHi\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Straße – Nr. 5"
    assert parsed.from_ == Address(name="Jörg", email="j@x.de")
    assert parsed.defects == []


def test_addresses_are_decoded_and_domains_lower_cased() -> None:
    parsed = parse_message(
        message(
            'From: "=?utf-8?Q?M=C3=BCller=2C_Anna?=" <Anna.Mueller@Example.COM>\n'
            "To: undisclosed-recipients:;\n"
            "Cc: Bob <bob@b.example>, plain@c.example, John Doe john@d.example\n"
            "Reply-To: =?utf-8?B?U3VwcG9ydCA8aGVscEBlLmV4YW1wbGU+?="
        )
    )
    assert parsed.from_ == Address("Müller, Anna", "Anna.Mueller@example.com")
    assert parsed.to == []
    assert parsed.cc == [
        Address("Bob", "bob@b.example"),
        Address("", "plain@c.example"),
        Address("John Doe", "john@d.example"),
    ]
    assert parsed.reply_to == [Address("Support", "help@e.example")]


def test_a_from_without_address_keeps_the_name() -> None:
    parsed = parse_message(message("From: Whomever"))
    assert parsed.from_ == Address(name="Whomever", email="")


def test_recipients_for_routing_are_ordered_deduplicated_and_lower_cased() -> None:
    parsed = parse_message(
        message(
            "Delivered-To: Last@Example.com\n"
            "X-Original-To: orig@example.com\n"
            "Cc: cc@example.com, TO@example.com\n"
            "To: to@example.com\n"
            "Envelope-To: env@example.com\n"
            "Resent-To: resent@example.com"
        )
    )
    assert parsed.recipients_for_routing == [
        "resent@example.com",
        "env@example.com",
        "to@example.com",
        "cc@example.com",
        "last@example.com",
        "orig@example.com",
    ]


def test_references_and_in_reply_to_ignore_text_between_ids() -> None:
    parsed = parse_message(
        message(
            "Message-ID:  <Own.ID@Host>  \n"
            'In-Reply-To: Your message of "Mon, 1 Jan <not-an-id@x>" <a1@x.example>\n'
            " (from someone <c@d>)\n"
            "References: <r1@x> garbage, <r2@x>\n\t<r1@x> <\n r3@x>"
        )
    )
    assert parsed.message_id == "Own.ID@Host"
    assert parsed.in_reply_to == ["a1@x.example"]
    assert parsed.references == ["r1@x", "r2@x", "r3@x"]


def test_message_ids_without_brackets_are_found() -> None:
    parsed = parse_message(message("In-Reply-To: a@b.example\nReferences: x@y z@w"))
    assert parsed.in_reply_to == ["a@b.example"]
    assert parsed.references == ["x@y", "z@w"]


def test_normalize_message_id_strips_brackets_and_whitespace() -> None:
    assert normalize_message_id("<a@b>") == "a@b"
    assert normalize_message_id("  <a@b> (comment)") == "a@b"
    assert normalize_message_id("a@b") == "a@b"
    assert normalize_message_id("< a @b >") == "a@b"
    assert normalize_message_id("") == ""


def test_date_is_timezone_aware_and_garbage_dates_are_none() -> None:
    assert parse_message(message("Date: Tue, 4 Mar 2025 08:15:00 +0100")).date == (
        datetime(2025, 3, 4, 7, 15, tzinfo=UTC)
    )
    unzoned = parse_message(message("Date: Tue, 4 Mar 2025 08:15:00 -0000")).date
    assert unzoned is not None and unzoned.utcoffset() == timedelta(0)
    broken = parse_message(message("Date: the day after tomorrow"))
    assert broken.date is None
    assert any("Date" in d for d in broken.defects)


def test_headers_keep_every_field_in_order_decoded_on_one_line() -> None:
    parsed = parse_message(
        message(
            "X-Tag: one\nSubject: =?utf-8?Q?S=C3=BCd?=\nX-Tag: two\n\tfolded\nx-tag: 3"
        )
    )
    assert parsed.headers == [
        ("X-Tag", "one"),
        ("Subject", "Süd"),
        ("X-Tag", "two\tfolded"),
        ("x-tag", "3"),
    ]
    assert parsed.header("X-TAG") == "one"
    assert parsed.header_all("x-tag") == ["one", "two\tfolded", "3"]
    assert parsed.header("missing") == ""


# -- bodies --------------------------------------------------------------------


def test_body_is_decoded_with_the_declared_charset_and_lf_line_endings() -> None:
    raw = (
        b"Content-Type: text/plain; charset=koi8-r\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "Привет\r\nмир\r\n".encode("koi8-r")
    )
    assert parse_message(raw).body_text == "Привет\nмир"


def test_utf8_body_labelled_latin1_is_read_as_utf8() -> None:
    raw = b"Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xc3\xa9 \xe2\x80\x99\n"
    parsed = parse_message(raw)
    assert parsed.body_text == "café \u2019"
    assert any("UTF-8" in d for d in parsed.defects)


def test_latin1_body_labelled_utf8_falls_back_without_crashing() -> None:
    text = (
        "Sehr geehrte Damen und Herren, wir möchten Ihnen mitteilen, dass die Prüfung "
    )
    raw = b"Content-Type: text/plain; charset=utf-8\n\n" + (text * 5).encode("latin-1")
    parsed = parse_message(raw)
    assert "möchten" in parsed.body_text and "Prüfung" in parsed.body_text
    assert parsed.defects


def test_unknown_and_odd_charset_names_do_not_crash() -> None:
    utf7 = parse_message(
        b"Content-Type: text/plain; charset=unicode-1-1-utf-7\n\nHi +AOk-t+AOk-\n"
    )
    assert utf7.body_text == "Hi été"
    unknown = parse_message(
        b"Content-Type: text/plain; charset=x-unknown\n\nna\xc3\xafve\n"
    )
    assert unknown.body_text == "naïve"
    codec_trick = parse_message(b"Content-Type: text/plain; charset=base64\n\nSGk=\n")
    assert codec_trick.body_text == "SGk="


def test_html_only_message_gets_a_readable_text_body_and_sanitised_html() -> None:
    parsed = parse_message(fixture("html-only.eml"))
    assert parsed.body_text == (
        "Café news\n\nFirst paragraph with bold text.\n\n- one\n- two\n\n"
        "Read more <https://example.org/more>."
    )
    assert "<h1>Café news</h1>" in parsed.body_html
    for unsafe in (
        "script",
        "onload",
        "tracker.example.net",
        "<style",
        "Ignored title",
    ):
        assert unsafe not in parsed.body_html
    assert parsed.attachments == []


def test_alternative_prefers_plain_text_for_text_and_html_for_html() -> None:
    raw = message(
        'Content-Type: multipart/alternative; boundary="a"',
        "--a\nContent-Type: text/plain\n\nplain version\n"
        "--a\nContent-Type: text/html\n\n<p>html <i>version</i></p>\n--a--\n",
    )
    parsed = parse_message(raw)
    assert parsed.body_text == "plain version"
    assert parsed.body_html == "<p>html <i>version</i></p>"
    assert parsed.attachments == []


def test_empty_plain_alternative_falls_back_to_the_html_text() -> None:
    raw = message(
        'Content-Type: multipart/alternative; boundary="a"',
        "--a\nContent-Type: text/plain\n\n\n"
        "--a\nContent-Type: text/html\n\n<p>only here</p>\n--a--\n",
    )
    assert parse_message(raw).body_text == "only here"


def test_inline_text_parts_after_the_body_are_appended_around_images() -> None:
    raw = message(
        'Content-Type: multipart/mixed; boundary="m"',
        "--m\nContent-Type: text/plain\n\nbefore\n"
        "--m\nContent-Type: image/png\nContent-ID: <img1@x>\n"
        "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
        "--m\nContent-Type: text/plain\n\nafter\n--m--\n",
    )
    parsed = parse_message(raw)
    assert parsed.body_text == "before\n\nafter"
    [image] = parsed.attachments
    assert (image.filename, image.content_id, image.disposition) == (
        "attachment-1.png",
        "img1@x",
        "inline",
    )
    assert image.content == b"\x89PNG\r\n\x1a\n"


def test_a_lone_pdf_body_becomes_an_attachment() -> None:
    raw = message(
        "Content-Type: application/pdf\nContent-Transfer-Encoding: base64",
        "JVBERi0xLjQK\n",
    )
    parsed = parse_message(raw)
    assert parsed.body_text == ""
    assert [(a.filename, a.content) for a in parsed.attachments] == [
        ("attachment-1.pdf", b"%PDF-1.4\n")
    ]


def test_a_text_part_with_a_filename_after_the_body_is_an_attachment() -> None:
    raw = message(
        'Content-Type: multipart/mixed; boundary="m"',
        "--m\nContent-Type: text/plain\n\nbody\n"
        '--m\nContent-Type: text/plain; name="log.txt"\n\nline 1\n--m--\n',
    )
    parsed = parse_message(raw)
    assert parsed.body_text == "body"
    assert [(a.filename, a.content) for a in parsed.attachments] == [
        ("log.txt", b"line 1")
    ]


# -- attachments ---------------------------------------------------------------


def test_rfc2231_and_rfc2047_filenames_are_decoded() -> None:
    parsed = parse_message(fixture("rfc2231-filename.eml"))
    assert [a.filename for a in parsed.attachments] == [
        "€ rates 2025.pdf",
        "Grüße.csv",
        "übersicht.docx",
    ]
    assert parsed.attachments[0].content == b"%PDF-1.4\n"


def test_message_rfc822_is_kept_whole_as_one_eml() -> None:
    raw = fixture("forwarded-rfc822.eml")
    parsed = parse_message(raw)
    assert parsed.body_text == "See the forwarded message."
    [forwarded] = parsed.attachments
    assert forwarded.filename == "Original question.eml"
    assert forwarded.content_type == "message/rfc822"
    start = raw.index(b"From: Original Sender")
    assert forwarded.content == raw[start : raw.index(b"\n--outer--")]
    assert forwarded.size == len(forwarded.content)


def test_base64_encoded_message_rfc822_is_decoded() -> None:
    inner = b"Subject: inner\n\nhello\n"
    raw = message(
        'Content-Type: multipart/mixed; boundary="m"',
        "--m\nContent-Type: text/plain\n\nouter\n--m\nContent-Type: message/rfc822\n"
        "Content-Transfer-Encoding: base64\n\n"
        + base64.b64encode(inner).decode()
        + "\n--m--\n",
    )
    [attached] = parse_message(raw).attachments
    assert (attached.filename, attached.content) == ("inner.eml", inner)


def test_filenames_are_made_safe_and_never_empty() -> None:
    parsed = parse_message(fixture("path-traversal.eml"))
    assert [a.filename for a in parsed.attachments] == [
        "passwd",
        "boot.ini",
        "evil name gpj.exe",
        "attachment-4.pdf",
        "attachment-5.bin",
    ]
    assert parsed.body_text == "Please look at these."
    assert any("../../etc/passwd" in d for d in parsed.defects)


def test_long_filenames_are_cut_to_255_characters_keeping_the_extension() -> None:
    raw = message(
        'Content-Type: multipart/mixed; boundary="m"',
        "--m\nContent-Type: text/plain\n\nx\n--m\nContent-Type: application/pdf\n"
        f'Content-Disposition: attachment; filename="{"a" * 400}.pdf"\n\n%PDF\n--m--\n',
    )
    [attachment] = parse_message(raw).attachments
    assert len(attachment.filename) == 255
    assert attachment.filename.endswith("a.pdf")


def _tnef_object(level: int, attribute: int, kind: int, data: bytes) -> bytes:
    header = struct.pack("<BHHI", level, attribute, kind, len(data))
    return header + data + struct.pack("<H", sum(data) & 0xFFFF)


def tnef_blob(files: list[tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    """A minimal TNEF stream: version, code page, optional body, files."""
    blob = struct.pack("<IH", 0x223E9F78, 1)
    blob += _tnef_object(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    blob += _tnef_object(1, 0x9007, 0x0006, struct.pack("<II", 1252, 0))
    if body:
        blob += _tnef_object(1, 0x800C, 0x0002, body)
    for name, data in files:
        blob += _tnef_object(2, 0x9002, 0x0006, b"\x01\x00" + b"\xff" * 12)
        blob += _tnef_object(2, 0x8010, 0x0001, name + b"\x00")
        blob += _tnef_object(2, 0x800F, 0x0006, data)
    return blob


def tnef_message(blob: bytes, text: str | None = "See attached.") -> bytes:
    parts = f"--t\nContent-Type: text/plain\n\n{text}\n" if text is not None else ""
    parts += (
        '--t\nContent-Type: application/ms-tnef; name="winmail.dat"\n'
        "Content-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(blob).decode()
        + "--t--\n"
    )
    return message('Content-Type: multipart/mixed; boundary="t"', parts)


def test_tnef_winmail_dat_is_unpacked_into_its_files() -> None:
    blob = tnef_blob([(b"report.txt", b"numbers"), (b"photo.jpg", b"\xff\xd8\xff")])
    parsed = parse_message(tnef_message(blob))
    assert parsed.body_text == "See attached."
    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("report.txt", "text/plain", b"numbers"),
        ("photo.jpg", "image/jpeg", b"\xff\xd8\xff"),
    ]


def test_tnef_body_is_used_when_the_message_has_no_text() -> None:
    blob = tnef_blob([(b"a.txt", b"x")], body=b"Body inside TNEF")
    parsed = parse_message(tnef_message(blob, text=None))
    assert parsed.body_text == "Body inside TNEF"
    assert [a.filename for a in parsed.attachments] == ["a.txt"]


def test_unreadable_tnef_is_kept_as_winmail_dat() -> None:
    blob = struct.pack("<IH", 0x223E9F78, 1) + b"\x01\x02"
    parsed = parse_message(tnef_message(blob))
    assert [(a.filename, a.content) for a in parsed.attachments] == [
        ("winmail.dat", blob)
    ]


def test_encrypted_and_signed_flags() -> None:
    signed = parse_message(fixture("smime-signed.eml"))
    assert (signed.is_signed, signed.is_encrypted) == (True, False)
    assert signed.body_text == "Signed text."
    assert [a.filename for a in signed.attachments] == ["smime.p7s"]
    smime = parse_message(fixture("smime-encrypted.eml"))
    assert (smime.is_signed, smime.is_encrypted) == (False, True)
    pgp = parse_message(fixture("pgp-encrypted.eml"))
    assert (pgp.is_signed, pgp.is_encrypted) == (False, True)
    plain = parse_message(message("Subject: plain"))
    assert (plain.is_signed, plain.is_encrypted) == (False, False)
    inline = parse_message(
        message("Subject: x", "-----BEGIN PGP SIGNED MESSAGE-----\n")
    )
    assert inline.is_signed


# -- robustness ----------------------------------------------------------------


def test_crlf_and_lf_versions_give_identical_results() -> None:
    for name in sorted(FIXTURES.glob("*.eml")):
        lf = name.read_bytes().replace(b"\r\n", b"\n")
        crlf = re.sub(rb"\r?\n", b"\r\n", lf)
        assert fields(parse_message(lf)) == fields(parse_message(crlf)), name.name
        assert parse_message(lf).raw_sha256 != parse_message(crlf).raw_sha256


def test_raw_sha256_is_the_hash_of_the_exact_input() -> None:
    raw = fixture("html-only.eml")
    assert parse_message(raw).raw_sha256 == hashlib.sha256(raw).hexdigest()


def test_nesting_beyond_the_recursion_limit_keeps_the_raw_message() -> None:
    raw = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(3000)
    )
    raw_bytes = ("Subject: deep\n" + raw + "\nx\n").encode()
    parsed = parse_message(raw_bytes)
    assert parsed.subject == "deep"
    assert [(a.filename, a.content) for a in parsed.attachments] == [
        ("message.eml", raw_bytes)
    ]
    assert "could not be parsed" in parsed.defects[0]


def test_empty_input_gives_an_empty_message() -> None:
    parsed = parse_message(b"")
    assert (parsed.subject, parsed.body_text, parsed.attachments) == ("", "", [])
    assert parsed.raw_sha256 == hashlib.sha256(b"").hexdigest()


def _strings(parsed: ParsedMessage) -> list[str]:
    addresses = [
        a for a in [parsed.from_, *parsed.reply_to, *parsed.to, *parsed.cc] if a
    ]
    found = [parsed.subject, parsed.body_text, parsed.body_html, parsed.message_id]
    found += parsed.in_reply_to + parsed.references + parsed.recipients_for_routing
    found += [part for a in addresses for part in (a.name, a.email)]
    found += [part for header in parsed.headers for part in header] + parsed.defects
    for a in parsed.attachments:
        found += [a.filename, a.content_type, a.content_id, a.disposition]
    return found


_FRAGMENTS = [
    b"Subject: =?utf-8?B?w6k=?=\n",
    b"Subject: =?bogus?Q?=FF?=\n",
    b"From: \xff\xfe <a@b>\n",
    b'To: ,,,<>,"x" <@>\n',
    b"Content-Type: multipart/mixed; boundary=b\n",
    b"Content-Type: multipart/alternative; boundary=b\n",
    b"Content-Type: message/rfc822\n",
    b"Content-Type: text/html; charset=utf-16\n",
    b"Content-Type: text/plain; charset*=x''%FF\n",
    b"Content-Type: text/pl\x00ain\n",
    b"Message-ID: <\x00\xff@x>\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Disposition: attachment; filename*0*=utf-8''%E2; filename*1=x\n",
    b"Date: Mon, 99 Foo 10000 99:99:99 +9999\n",
    b"References: <<a@b>>\n",
    b"\n",
    b"\r\n",
    b"--b\n",
    b"--b--\n",
    b"<html><![if x]><p>a</p>\n",
    b"\x00\x1b$B",
    b'x\xa8\x90\x03\x9f>"\xff',
]


@hypothesis_settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.lists(
            st.one_of(st.sampled_from(_FRAGMENTS), st.binary(max_size=12)), max_size=40
        ).map(b"".join),
    )
)
def test_parse_message_never_raises(raw: bytes) -> None:
    """Any bytes at all give a ParsedMessage with clean, storable text."""
    parsed = parse_message(raw)
    assert parsed.raw_sha256 == hashlib.sha256(raw).hexdigest()
    for text in _strings(parsed):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates: storable in PostgreSQL
    assert not set(parsed.subject) & {"\r", "\n"}
    for attachment in parsed.attachments:
        assert attachment.filename and "/" not in attachment.filename
        assert len(attachment.filename) <= 255
