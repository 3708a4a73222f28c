"""Rewriting stored mail without what a redaction removes (helpline/mail/rewrite.py),
over the real-world corpus (../shared/corpus: bounces, broken MIME, 8-bit headers,
TNEF, S/MIME) and the project's own messages: what is removed is gone for the parser
that made the article, and everything else reads as it did."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from helpline.mail import rewrite
from helpline.mail.parse import parse_message

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
NOTE = "removed by redaction on 2026-12-07"


def messages() -> list[Path]:
    found = sorted(CORPUS.rglob("*.eml")) + sorted(
        (ROOT / "tests" / "fixtures" / "mail").glob("*.eml")
    )
    if len(found) < 300:
        pytest.fail(f"the shared mail corpus is missing under {CORPUS} (README.md)")
    return found


def reading(raw: bytes) -> tuple:
    found = parse_message(raw)
    return (
        found.subject,
        found.from_,
        found.to,
        found.message_id,
        found.date,
        found.body_text,
        [(a.filename, a.content) for a in found.attachments],
    )


def test_a_rewrite_that_removes_nothing_reads_as_the_original():
    for path in messages():
        raw = path.read_bytes()
        assert reading(rewrite.rewrite(raw, note=NOTE)) == reading(raw), path


def test_the_body_and_every_file_removed_leave_the_header_and_the_notes():
    checked = 0
    for path in messages():
        raw = path.read_bytes()
        before = parse_message(raw)
        files = [a.content for a in before.attachments if a.content]
        after = parse_message(
            rewrite.rewrite(raw, note=NOTE, body=True, contents=files)
        )
        assert {line for line in after.body_text.splitlines() if line} <= {NOTE}
        for attachment in after.attachments:
            if attachment.content:  # an empty file has nothing to remove
                assert attachment.content not in files, path
                assert attachment.filename == rewrite.REMOVED_NAME, path
        assert (after.subject, after.from_, after.message_id) == (
            before.subject,
            before.from_,
            before.message_id,
        ), path
        checked += bool(files) and bool(before.body_text.strip())
    assert checked > 50  # messages with both a text and files


def test_a_removed_subject_leaves_every_header_that_showed_it():
    raw = (
        b"From: jane@example.net\nTo: info@example.org\n"
        b"Subject: =?utf-8?q?Pass_Gr=C3=BCnwald_4711?=\n"
        b"Thread-Topic: Pass Gr\xc3\xbcnwald 4711\nMessage-ID: <a@b>\n\nHello.\n"
    )
    after = rewrite.rewrite(raw, note="removed", texts=["Pass Grünwald 4711"])
    found = parse_message(after)
    assert found.subject == "removed"
    assert found.header("Thread-Topic") == "removed"
    assert found.body_text == "Hello."
    assert b"4711" not in after


def test_a_short_subject_is_not_looked_for_inside_other_headers():
    raw = (
        b"Received: from Hillside.example.net by mx.example.org\n"
        b"From: Hilda <hilda@example.net>\nSubject: Hi\nThread-Topic: Hi\n\nHi.\n"
    )
    after = parse_message(rewrite.rewrite(raw, note="removed", texts=["Hi"]))
    assert after.subject == "removed"
    assert after.header("Thread-Topic") == "removed"
    assert after.header("Received").startswith("from Hillside.example.net")
    assert after.header("From") == "Hilda <hilda@example.net>"
    assert after.body_text == "Hi."  # the text is not the subject


def test_line_endings_and_untouched_parts_stay_as_they_were():
    raw = (
        b"From: jane@example.net\r\nSubject: Two parts\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nKeep this.\r\n--b\r\n"
        b'Content-Type: application/pdf; name="x.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi1zZWNyZXQ=\r\n--b--\r\n"
    )
    after = rewrite.rewrite(raw, note=NOTE, contents=[b"%PDF-secret"])
    assert b"\n" not in after.replace(b"\r\n", b"")
    assert b"Content-Type: text/plain\r\n\r\nKeep this.\r\n" in after
    assert b"JVBERi1zZWNyZXQ=" not in after
    assert b'filename="removed-by-redaction.txt"' in after


def test_a_rewrite_that_would_keep_the_text_is_refused(monkeypatch):
    """The result is read again: were the body still in it (here: no body part is
    found to replace), the rewrite fails rather than claim a removal."""
    monkeypatch.setattr(rewrite, "body_leaves", lambda tree: [])
    raw = b"From: jane@example.net\nSubject: x\n\nMy passport: Vexlor 4711.\n"
    with pytest.raises(
        rewrite.NotRewritable, match="remove the raw mail as a whole too"
    ):
        rewrite.rewrite(raw, note=NOTE, body=True)


def test_replacing_text_touches_only_messages_that_show_it_where_asked():
    raw = (
        b"From: helpline@example.org\nSubject: [Ticket#2024] New ticket: Card\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: base64\n\n"
        + base64.encodebytes("Tïcket text: Card 4111\n".encode())
    )
    assert rewrite.replace_text(raw, texts=["Card 4111"], note="x", where="9999") is raw
    assert rewrite.replace_text(raw, texts=["Gone"], note="x", where="2024") is raw
    after = rewrite.replace_text(
        raw, texts=["Card 4111"], note="[removed]", where="2024"
    )
    assert parse_message(after).body_text == "Tïcket text: [removed]"
