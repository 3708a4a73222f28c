"""The parser against the shared real-world corpus (../shared/corpus, see its README).

For every message: it parses without falling back, and properties 3, 4, 5, 6 and 8
of the corpus README hold. For stalwart-mail-parser's messages the decoded subject,
From address, body text and attachment filenames are compared with stalwart's own
expectations (NNN.json); the differences we accept are listed, with the reason, in
KNOWN_DIFFERENCES, and every other comparison must agree.

Run with -s to see the agreement table printed by test_stalwart_agreement_rates.
"""

from __future__ import annotations

import email
import hashlib
import json
import re
from email import policy as email_policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from helpline.mail.headers import safe_filename
from helpline.mail.htmltext import html_to_text
from helpline.mail.parse import ParsedMessage, parse_message
from helpline.mail.tnef import looks_like_tnef, unpack_tnef

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
STALWART = CORPUS / "stalwart-mail-parser"
STALWART_DIRS = ("malformed", "rfc", "thirdparty")
SISIMAI_DIRS = ("bsd", "not")
MISSING = "<corpus missing>"

# Messages where the parser repairs a header so that it finds more MIME structure than
# the standard library does; the oracle of property 6 sees fewer leaves there.
REPAIRED_STRUCTURE = {
    "stalwart-mail-parser/malformed/017.eml": "Content-Type lacks the ';' before "
    "boundary=; we insert it and find the image part",
}

# (file relative to the corpus, field) -> why stalwart's expectation is not ours.
_STALWART_BROKEN_PART = (
    "stalwart files a part it flags as an encoding problem (not closed by its "
    "boundary, or bad base64) as an attachment; we keep an inline text part as body "
    "text (RFC 8621 rules), so it is read (property 5) and not hidden in a file"
)
_BOUNDARY_PREFIX = (
    "a line '--' + boundary + more characters is no delimiter (RFC 2046: only "
    "whitespace may follow); stalwart accepts it, we (and the stdlib) keep it as text"
)
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("malformed/001.eml", "body"): "the nested multipart (boundary 'a') has no start "
    "boundary before the outer one closes it; we keep the next text part ('--a') as "
    "body text, stalwart reads '--a' as the nested start delimiter",
    ("malformed/001.eml", "attachments"): _STALWART_BROKEN_PART,
    ("malformed/002.eml", "body"): "a multipart without any boundary line: we read "
    "its body as text/plain; stalwart makes it an attachment",
    ("malformed/002.eml", "attachments"): _STALWART_BROKEN_PART,
    ("malformed/003.eml", "body"): _STALWART_BROKEN_PART,
    ("malformed/003.eml", "attachments"): _STALWART_BROKEN_PART,
    ("malformed/004.eml", "body"): _BOUNDARY_PREFIX,
    ("malformed/004.eml", "attachments"): _BOUNDARY_PREFIX,
    ("malformed/005.eml", "body"): "boundaries 'a--' and 'a----' are ambiguous: "
    "'--a----' is the outer close delimiter (RFC 2046), so the text after it is "
    "epilogue; stalwart reads it as the inner start delimiter",
    ("malformed/006.eml", "body"): _STALWART_BROKEN_PART,
    ("malformed/006.eml", "attachments"): _STALWART_BROKEN_PART,
    ("malformed/007.eml", "attachments"): "an empty text part that is never closed: "
    "stalwart stores it as an empty attachment, for us it is an empty body part",
    ("malformed/008.eml", "body"): _STALWART_BROKEN_PART,
    ("malformed/008.eml", "attachments"): _STALWART_BROKEN_PART,
    ("malformed/009.eml", "body"): _STALWART_BROKEN_PART,
    ("malformed/009.eml", "attachments"): _STALWART_BROKEN_PART,
    ("malformed/011.eml", "body"): _STALWART_BROKEN_PART,
    ("malformed/011.eml", "attachments"): _STALWART_BROKEN_PART,
    ("malformed/012.eml", "attachments"): "three message/rfc822 parts in nested, "
    "unclosed multiparts: we keep all three as .eml files, stalwart merges two",
    ("malformed/016.eml", "body"): "boundaries that are prefixes of each other: a "
    "line with the outermost boundary closes the inner multiparts (RFC 2046), so "
    "later inner delimiters are text to us; stalwart still honours them",
    ("malformed/016.eml", "attachments"): _STALWART_BROKEN_PART,
    ("malformed/019.eml", "subject"): "the first line 'Fro :...' is no header field "
    "(a space before the colon), so the header ends there and everything is body "
    "(stdlib rule); stalwart takes it as a header and reads on",
    ("malformed/019.eml", "body"): "same as its subject: for us the whole message "
    "is the text body",
    ("malformed/020.eml", "body"): "a part with two Content-Type fields: we honour "
    "the first (multipart/alternative, as the stdlib and most readers do) and show "
    "its HTML part; stalwart takes the second (text/plain) and shows the raw MIME",
    ("malformed/021.eml", "body"): "as malformed/020.eml: two Content-Type fields",
    ("thirdparty/002.eml", "body"): "the third part is base64 of '?garbage': we "
    "decode it leniently into the body (as the stdlib does), stalwart keeps the raw "
    "text as an attachment",
    ("thirdparty/002.eml", "attachments"): _STALWART_BROKEN_PART,
    ("thirdparty/005.eml", "body"): "'invalid--1--': a boundary must start a line "
    "(RFC 2046), so '--1--' here is text and the multipart is unclosed",
    ("thirdparty/007.eml", "from"): "'<moderator>' has no domain: not an addr-spec, so "
    "email is '' (we never reply to a bare local part, which the MTA would qualify "
    "with our own domain); the display name is kept",
    ("thirdparty/015.eml", "attachments"): "the first attached message declares a "
    "multipart boundary it never uses; stalwart's inner parse then swallows the rest "
    "of the outer message, losing the other two attachments; we keep all three",
}

FIELDS = ("subject", "from", "body", "attachments")


def _corpus_files() -> list[str]:
    files = [
        f"stalwart-mail-parser/{folder}/{path.name}"
        for folder in STALWART_DIRS
        for path in sorted((STALWART / folder).glob("*.eml"))
    ]
    files += [
        f"sisimai/{folder}/{path.name}"
        for folder in SISIMAI_DIRS
        for path in sorted((CORPUS / "sisimai" / folder).glob("*.eml"))
    ]
    return files or [MISSING]


FILES = _corpus_files()
STALWART_FILES = [f for f in FILES if f.startswith("stalwart")] or [MISSING]


def _raw(name: str) -> bytes:
    if name == MISSING:
        pytest.fail(
            f"The mail corpus is missing: expected it at {CORPUS} "
            "(../shared/corpus from the project root, see its README.md)."
        )
    return (CORPUS / name).read_bytes()


_PARSED: dict[str, ParsedMessage] = {}


def _parsed(name: str) -> ParsedMessage:
    if name not in _PARSED:
        _PARSED[name] = parse_message(_raw(name))
    return _PARSED[name]


def test_corpus_is_present() -> None:
    """The corpus is where the README says, with all its messages (a missing corpus
    fails the suite rather than skipping it)."""
    assert CORPUS.is_dir(), f"mail corpus not found at {CORPUS}"
    assert len([f for f in FILES if f.startswith("stalwart")]) == 53
    assert len([f for f in FILES if f.startswith("sisimai/bsd")]) == 318
    assert len([f for f in FILES if f.startswith("sisimai/not")]) == 3


# -- oracle: the MIME tree as the standard library's compat32 parser sees it ---------


def _oracle_leaves(raw: bytes) -> list[Message]:
    """Leaves of the tree; message/* parts count as leaves (they are attached whole)."""
    root = email.message_from_bytes(
        raw.replace(b"\r\n", b"\n"), policy=email_policy.default
    )
    leaves: list[Message] = []
    stack = [root]
    while stack:
        part = stack.pop()
        payload = part.get_payload()
        if part.get_content_maintype() != "message" and isinstance(payload, list):
            stack.extend(reversed(payload))
        else:
            leaves.append(part)
    return leaves


def _oracle_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=")
_MOJIBAKE_RUN = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
    "\u20ac\u2122]+"
)


def _mojibake(text: str) -> list[str]:
    """Runs that are UTF-8 bytes wrongly decoded as windows-1252/latin-1."""
    found = []
    for match in _MOJIBAKE_RUN.finditer(text):
        run = match.group(0)
        try:
            data = run.encode("cp1252")
        except UnicodeEncodeError:
            try:
                data = run.encode("latin-1")
            except UnicodeEncodeError:
                continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        found.append(run)
    return found


def _texts(parsed: ParsedMessage) -> list[str]:
    texts = [parsed.subject, parsed.body_text]
    texts += [a.name for a in [parsed.from_, *parsed.to, *parsed.cc] if a]
    texts += [a.filename for a in parsed.attachments]
    return texts


def test_the_mojibake_check_finds_utf8_read_as_windows_1252() -> None:
    """The property 4 check itself: it finds 'Ã©' and 'â€™', not real accents."""
    assert _mojibake("Caf\u00c3\u00a9 it\u00e2\u20ac\u2122s") == [
        "\u00c3\u00a9",
        "\u00e2\u20ac\u2122",
    ]
    assert _mojibake("Café – Ärger über Öl, naïve") == []


# -- properties -------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_parses_without_fallback_and_keeps_the_hash(name: str) -> None:
    """Property 1 (the parser's part): never raises, no whole-message fallback, and
    raw_sha256 is the hash of the exact input bytes."""
    raw = _raw(name)
    parsed = _parsed(name)
    assert parsed.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert not any("could not be parsed" in d for d in parsed.defects), parsed.defects


@pytest.mark.parametrize("name", FILES)
def test_property_3_subject_and_names_are_decoded_single_lines(name: str) -> None:
    """Property 3: no encoded words left, no CR, LF or NUL in subject and names."""
    parsed = _parsed(name)
    for text in [parsed.subject] + [a.name for a in [parsed.from_, *parsed.to] if a]:
        assert not _ENCODED_WORD.search(text), text
        assert not set(text) & {"\r", "\n", "\x00"}, text
    for _header, value in parsed.headers:
        assert not set(value) & {"\r", "\n", "\x00"}, value


@pytest.mark.parametrize("name", FILES)
def test_property_4_no_mojibake(name: str) -> None:
    """Property 4: no mojibake unless the source itself holds those characters."""
    raw = _raw(name)
    sources = [raw] + [_oracle_bytes(leaf) for leaf in _oracle_leaves(raw)]
    for text in _texts(_parsed(name)):
        for run in _mojibake(text):
            assert any(run.encode("utf-8") in source for source in sources), run


def _visible(data: bytes, is_html: bool) -> bool:
    """Crudely: does this text, or this HTML without its tags, show anything?"""
    if is_html:
        data = re.sub(
            rb"<(script|style|title)\b.*?</\1\s*>|<[^>]*>",
            b" ",
            data,
            flags=re.S | re.I,
        )
        data = re.sub(rb"&nbsp;|&#160;", b" ", data)
    return bool(re.search(rb"[^\s\x00-\x1f]", data))


def _has_text(leaf: Message) -> bool:
    return _visible(_oracle_bytes(leaf), leaf.get_content_type() == "text/html")


def _body_candidates(raw: bytes) -> list[Message]:
    return [
        leaf
        for leaf in _oracle_leaves(raw)
        if leaf.get_content_type() in ("text/plain", "text/html")
        and (leaf.get_content_disposition() or "") != "attachment"
        and not leaf.get_filename()
    ]


@pytest.mark.parametrize("name", FILES)
def test_property_5_body_is_not_empty_when_a_text_part_has_content(name: str) -> None:
    """Property 5: a message with a non-empty text or HTML part gets a non-empty body;
    an HTML-only message gets a readable plain-text body."""
    raw = _raw(name)
    parsed = _parsed(name)
    if any(_has_text(leaf) for leaf in _body_candidates(raw)):
        assert parsed.body_text.strip()
    if _visible(parsed.body_html.encode(), is_html=True):
        assert parsed.body_text.strip()


@pytest.mark.parametrize("name", FILES)
def test_property_6_every_attachment_leaf_is_stored(name: str) -> None:
    """Property 6: every non-body leaf is an attachment with its content, a safe
    decoded name and its size; nothing is stored twice and the sizes add up."""
    raw = _raw(name)
    parsed = _parsed(name)
    for attachment in parsed.attachments:
        assert attachment.filename
        assert attachment.filename == safe_filename(attachment.filename)
        assert not _ENCODED_WORD.search(attachment.filename)
        assert attachment.size == len(attachment.content)
    leaves = _oracle_leaves(raw)
    if name in REPAIRED_STRUCTURE:
        assert any(leaf.get_content_maintype() == "multipart" for leaf in leaves), (
            "the standard library now sees this structure: drop it from the list"
        )
        return
    remaining = list(parsed.attachments)
    expected_total = 0
    for leaf in leaves:
        ctype = leaf.get_content_type()
        if leaf.get_content_maintype() == "message":
            match = next((a for a in remaining if a.content_type == ctype), None)
            assert match is not None, f"{ctype} leaf not stored"
        else:
            data = _oracle_bytes(leaf)
            match = next((a for a in remaining if a.content == data), None)
            if match is None and looks_like_tnef(data):
                unpacked = unpack_tnef(data)
                assert unpacked is not None and unpacked.attachments
                for _name, inner in unpacked.attachments:
                    found = next(a for a in remaining if a.content == inner)
                    remaining.remove(found)
                    expected_total += len(inner)
                continue
            if match is None:
                # Only text parts may be used as the body instead of being stored.
                assert ctype.startswith(("text/", "multipart/")), f"{ctype} leaf lost"
                continue
        remaining.remove(match)
        expected_total += match.size
    assert remaining == [], "attachments that are no leaf of the MIME tree"
    assert sum(a.size for a in parsed.attachments) == expected_total


def _crlf(raw: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", raw)


@pytest.mark.parametrize("name", FILES)
def test_property_8_crlf_and_lf_give_the_same_result(name: str) -> None:
    """Property 8: the CRLF and the LF versions of a message parse identically."""
    raw = _raw(name)
    lf = parse_message(raw.replace(b"\r\n", b"\n"))
    crlf = parse_message(_crlf(raw))
    assert lf.raw_sha256 != crlf.raw_sha256 or b"\n" not in raw
    for key in vars(lf):
        if key != "raw_sha256":
            assert getattr(lf, key) == getattr(crlf, key), key


# -- comparison with stalwart-mail-parser's expectations --------------------------


def _header(part: dict[str, Any], name: str) -> Any:
    return next((h["value"] for h in part["headers"] if h["name"] == name), None)


def _part_filename(part: dict[str, Any]) -> str | None:
    for header, param in (
        ("content_disposition", "filename"),
        ("content_type", "name"),
    ):
        value = _header(part, header)
        if isinstance(value, dict) and "ContentType" in value:
            for attribute in value["ContentType"]["attributes"] or []:
                if attribute["name"] == param:
                    return str(attribute["value"])
    return None


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text).split())


def _stalwart_expected(name: str) -> dict[str, Any]:
    tree = json.loads((CORPUS / name).with_suffix(".json").read_text("utf-8"))
    parts = tree["parts"]
    root = parts[0]
    subject = _header(root, "subject")
    sender = _header(root, "from")
    from_ = None
    if isinstance(sender, dict) and "Address" in sender:
        listed = sender["Address"].get("List") or [
            a for g in sender["Address"].get("Group", []) for a in g["addresses"]
        ]
        if listed:
            from_ = (listed[0]["name"] or "", (listed[0]["address"] or "").lower())
    texts = []
    for index in tree["text_body"]:
        body = parts[index]["body"]
        if isinstance(body, dict) and "Text" in body:
            texts.append(body["Text"])
        elif isinstance(body, dict) and "Html" in body:
            texts.append(html_to_text(body["Html"]))
    names = [_part_filename(parts[index]) for index in tree["attachments"]]
    return {
        "subject": _normalised(subject["Text"]) if isinstance(subject, dict) else "",
        "from": from_,
        "body": _normalised("\n".join(texts)),
        "attachments": [safe_filename(n) if n else None for n in names],
    }


def _ours(parsed: ParsedMessage) -> dict[str, Any]:
    return {
        "subject": _normalised(parsed.subject),
        "from": (parsed.from_.name, parsed.from_.email.lower())
        if parsed.from_
        else None,
        "body": _normalised(parsed.body_text),
        "attachments": [a.filename for a in parsed.attachments],
    }


def _agrees(field: str, expected: Any, ours: Any) -> bool:
    if field != "attachments":
        return bool(expected == ours)
    # Stalwart gives no name where there is none; ours are made up then.
    return len(expected) == len(ours) and all(
        e is None or e == o for e, o in zip(expected, ours, strict=True)
    )


def _comparison(name: str) -> dict[str, tuple[bool, Any, Any]]:
    expected = _stalwart_expected(name)
    ours = _ours(_parsed(name))
    return {f: (_agrees(f, expected[f], ours[f]), expected[f], ours[f]) for f in FIELDS}


@pytest.mark.parametrize("name", STALWART_FILES)
def test_agrees_with_stalwart_except_known_differences(name: str) -> None:
    """Decoded subject, From, body text and attachment names match stalwart's parse,
    except the listed known differences (which must still differ, so the list stays
    true)."""
    _raw(name)
    relative = name.removeprefix("stalwart-mail-parser/")
    for field, (agrees, expected, ours) in _comparison(name).items():
        if (relative, field) in KNOWN_DIFFERENCES:
            assert not agrees, f"{relative} {field} now agrees: drop it from the list"
        else:
            assert agrees, f"{relative} {field}: stalwart {expected!r}, ours {ours!r}"


def test_stalwart_agreement_rates(capsys: pytest.CaptureFixture[str]) -> None:
    """Agreement per field is total minus the known differences (printed with -s)."""
    names = [n for n in STALWART_FILES if n != MISSING]
    assert names, f"mail corpus not found at {CORPUS}"
    agreeing = dict.fromkeys(FIELDS, 0)
    for name in names:
        for field, (agrees, _expected, _ours) in _comparison(name).items():
            agreeing[field] += agrees
    with capsys.disabled():
        print(f"\nstalwart comparison over {len(names)} messages:")
        for field in FIELDS:
            print(f"  {field:12} {agreeing[field]}/{len(names)}")
        for (file, field), reason in sorted(KNOWN_DIFFERENCES.items()):
            print(f"  known: {file} {field}: {reason}")
    for field in FIELDS:
        known = sum(1 for (_f, fld) in KNOWN_DIFFERENCES if fld == field)
        assert agreeing[field] == len(names) - known, field
