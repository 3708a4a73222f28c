"""Every message of the shared real-world corpus through the whole intake.

The corpus README's properties, end to end: each message ends as exactly one ticket or
follow-up (none is quarantined: the parser copes with all of them), its raw bytes are
kept unchanged, the same bytes twice change nothing, titles hold no undecoded words or
control characters, attachments are all stored, automatic mail gets no auto-response,
and CRLF line endings give the same result as LF.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from helpline.blobstore import read_blob
from helpline.mail.intake import receive_and_dispatch
from helpline.mail.parse import parse_message
from helpline.models import Article, Attachment, InboundStatus, Ticket
from tests.mail.test_automatic_corpus import NOT_DISAGREEMENTS
from tests.support import make_group, make_queue

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def _files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}: check out ../shared")
    found = sorted(CORPUS.glob("stalwart-mail-parser/*/*.eml"))
    found += sorted(CORPUS.glob("sisimai/*/*.eml"))
    return found


FILES = _files()
ENCODED_WORD = re.compile(r"=\?[\w-]+\?[bq]\?[^?]*\?=", re.I)


@pytest.fixture
def raw_queue(db):
    return make_queue("Raw", group=make_group("all"))


def _ingest(raw: bytes):
    message = receive_and_dispatch(raw, transport="test")
    return message


@pytest.mark.django_db
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_corpus_message_becomes_exactly_one_ticket_or_follow_up(path, raw_queue):
    raw = path.read_bytes()
    message = _ingest(raw)
    assert message.status == InboundStatus.PROCESSED, (message.reason, message.error)
    assert read_blob(message.raw) == raw
    assert message.sha256 == hashlib.sha256(raw).hexdigest()
    ticket = message.ticket
    assert ticket is not None and message.article is not None
    # Property 3: decoded, single-line title and subject.
    for text in (ticket.title, message.article.subject):
        assert not any(c in text for c in "\r\n\x00"), repr(text)
        assert not ENCODED_WORD.search(text), repr(text)
    # Property 6: every attachment the parser found is stored, with its size.
    parsed = parse_message(raw)
    stored = Attachment.objects.filter(article=message.article)
    assert sorted(a.size for a in stored) == sorted(
        len(a.content) for a in parsed.attachments
    )
    assert all(a.filename and "/" not in a.filename for a in stored)
    # Property 7: automatic mail is never answered.
    if message.decisions["automatic"]["loop"]:
        assert message.decisions["auto_response"] == "none"
    if path.parent.name == "not" and path.name not in NOT_DISAGREEMENTS:
        assert message.decisions["automatic"]["kind"] == ""
    # Property 2: the same bytes again change nothing.
    tickets, articles = Ticket.objects.count(), Article.objects.count()
    again = _ingest(raw)
    assert again.pk == message.pk
    assert (Ticket.objects.count(), Article.objects.count()) == (tickets, articles)


@pytest.mark.django_db
@pytest.mark.parametrize("path", FILES[::5], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_crlf_line_endings_give_the_same_result_as_lf(path, raw_queue):
    """The CRLF copy is recognised as the same message (a duplicate, no second
    ticket); a message without Message-ID makes a twin ticket with the same content."""
    lf = path.read_bytes().replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")
    a = _ingest(lf)
    tickets = Ticket.objects.count()
    b = _ingest(crlf)
    assert a.status == InboundStatus.PROCESSED
    if b.status == InboundStatus.REJECTED:
        assert "duplicate" in b.reason
        assert Ticket.objects.count() == tickets
        return
    assert b.status == InboundStatus.PROCESSED
    assert b.article.body_text.strip() == a.article.body_text.strip()
    assert b.article.subject == a.article.subject

    def sizes(m):
        return sorted(
            Attachment.objects.filter(article=m.article).values_list("size", flat=True)
        )  # noqa: E731

    assert sizes(a) == sizes(b)
