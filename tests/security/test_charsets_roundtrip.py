"""Mail in charsets that are not ASCII-compatible, through the whole pipeline and back.

A customer writes in ISO-2022-JP, ISO-2022-KR, HZ, UTF-7, UTF-16 or UTF-32 (and in
8-bit CJK and Cyrillic code pages for comparison), with the subject, the sender's
name and the body in that charset; the mail is received and dispatched as a transport
does, an agent answers with the stored reply action, and the outgoing message's exact
bytes (the outbox row's) are read back by the standard library as a mail client would.
The ticket, the customer and the article hold the right text, and the answer carries
it without mojibake: subject, the To display name, the agent's text and the quoted
original. Before the fix, 7-bit ISO-2022-JP was taken for ASCII and the customer got
'$B<L??$N...(B' back.
"""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from email.headerregistry import AddressHeader
from email.message import EmailMessage

import pytest

from helpline.actions import admin
from helpline.blobstore import read_blob
from helpline.mail.intake import receive_and_dispatch
from helpline.mail.parse import parse_message
from helpline.models import InboundStatus, OutboxMessage, Permission
from helpline.responses import replies
from tests.mail.test_charsets_codecs import SAMPLES, b_words, q_words
from tests.support import make_agent, make_group, make_queue

QUEUE_ADDRESS = "info-en@helpline.localhost"
CUSTOMER = "customer@example.net"

NAMES = {
    "japanese": "山田 太郎",
    "chinese-simplified": "王小明",
    "chinese-traditional": "陳大文",
    "korean": "김민준",
    "cyrillic": "Иван Петров",
    "greek": "Γιώργος Παπαδόπουλος",
    "arabic": "محمد علي",
    "hebrew": "דוד כהן",
    "thai": "สมชาย ใจดี",
    "devanagari": "राहुल शर्मा",
    "latin-central": "Łukasz Żółć",
    "mixed-emoji": "Zoë 🌻 Müller",
}
ANSWERS = {
    "japanese": "ご連絡ありがとうございます。記事を修正しました。",
    "chinese-simplified": "感谢您的来信，我们已经更正了文章。",
    "chinese-traditional": "感謝您的來信，我們已經更正了文章。",
    "korean": "연락해 주셔서 감사합니다. 기사를 수정했습니다.",
    "cyrillic": "Спасибо, мы исправили статью.",
    "greek": "Ευχαριστούμε, διορθώσαμε το άρθρο.",
    "arabic": "شكرا لك، لقد صححنا المقال.",
    "hebrew": "תודה, תיקנו את המאמר.",
    "thai": "ขอบคุณครับ เราแก้ไขบทความแล้ว",
    "devanagari": "धन्यवाद, हमने लेख ठीक कर दिया है।",
    "latin-central": "Děkujeme, článek jsme opravili.",
    "mixed-emoji": "Fixed 👍 — 修正しました, исправлено.",
}

# (charset label as a mailer writes it, sample, body transfer encoding, raw headers)
CASES = [
    ("ISO-2022-JP", "japanese", "7bit", False),
    ("ISO-2022-JP", "japanese", "7bit", True),  # raw escape sequences in headers
    ("ISO-2022-KR", "korean", "7bit", False),
    ("HZ-GB-2312", "chinese-simplified", "7bit", False),
    ("HZ-GB-2312", "chinese-simplified", "7bit", True),
    ("UTF-7", "korean", "7bit", False),
    ("UTF-7", "thai", "7bit", False),
    ("UTF-7", "mixed-emoji", "7bit", False),
    ("UTF-16", "arabic", "base64", False),  # big-endian, no byte order mark
    ("UTF-16", "hebrew", "base64", False),  # little-endian with a byte order mark
    ("UTF-16LE", "devanagari", "quoted-printable", False),
    ("UTF-16", "mixed-emoji", "base64", False),
    ("UTF-32", "greek", "base64", False),
    ("Big5", "chinese-traditional", "8bit", True),  # raw 8-bit headers
    ("KOI8-R", "cyrillic", "8bit", False),
    ("windows-1250", "latin-central", "quoted-printable", False),
    ("TIS-620", "thai", "8bit", True),
]


def _bytes(text: str, label: str, sample: str) -> bytes:
    if label == "UTF-16" and sample == "hebrew":
        return text.encode("utf-16")  # BOM, native (little-endian) order
    if label in ("UTF-16", "UTF-32"):
        return text.encode(label.lower() + "-be")  # RFC 2781: no BOM is big-endian
    return text.encode(label)


def _codec_label(label: str) -> str:
    return "hz" if label == "HZ-GB-2312" else label


def inbound(label: str, sample: str, cte: str, raw_headers: bool) -> bytes:
    subject, name = SAMPLES[sample], NAMES[sample]
    body = f"{SAMPLES[sample]}\n{ANSWERS[sample]}\n"
    codec = _codec_label(label)
    data = _bytes(body, label, sample)
    if cte == "base64":
        encoded_body = base64.encodebytes(data)
    elif cte == "quoted-printable":
        import quopri

        encoded_body = quopri.encodestring(data)
    else:
        encoded_body = data
    if raw_headers:
        subject_bytes = subject.encode(codec)
        sender = b'"' + name.encode(codec) + b'" <' + CUSTOMER.encode() + b">"
    else:
        subject_bytes = b_words(subject, codec).encode()
        sender = q_words(name, codec).encode() + b" <" + CUSTOMER.encode() + b">"
    return (
        b"From: " + sender + b"\n"
        b"To: " + QUEUE_ADDRESS.encode() + b"\n"
        b"Subject: " + subject_bytes + b"\n"
        b"Message-ID: <"
        + f"{codec}.{sample}.{raw_headers}".encode()
        + b"@example.net>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=" + label.encode() + b"\n"
        b"Content-Transfer-Encoding: " + cte.encode() + b"\n\n" + encoded_body
    )


@pytest.fixture
def desk(db):
    group = make_group("info")
    queue = make_queue("info-en", group=group, email=QUEUE_ADDRESS)
    agent = make_agent("alice", first_name="Alice", last_name="Agent")
    admin.grant(group, [Permission.RW], agent=agent)
    return queue, agent


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("label", "sample", "cte", "raw_headers"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{'raw' if c[3] else c[2]}" for c in CASES],
)
def test_mail_in_any_charset_is_stored_right_and_answered_without_mojibake(
    desk, label: str, sample: str, cte: str, raw_headers: bool
) -> None:
    subject, name, answer = SAMPLES[sample], NAMES[sample], ANSWERS[sample]
    message = receive_and_dispatch(
        inbound(label, sample, cte, raw_headers), transport="test"
    )
    assert message.status == InboundStatus.PROCESSED
    ticket = message.ticket
    assert ticket.title == subject
    assert ticket.customer.email == CUSTOMER
    assert ticket.customer.name == name
    article = ticket.articles.get()
    assert article.subject == subject
    assert article.body_text == f"{subject}\n{answer}"
    assert name in article.from_addr

    _, agent = desk
    reply = replies.reply(agent, ticket.id, text=answer)
    outbox = OutboxMessage.objects.get(article=reply)
    raw = read_blob(outbox.raw)
    assert raw == read_blob(reply.raw)
    assert raw.isascii() or b'charset="utf-8"' in raw or b"charset=utf-8" in raw
    sent = message_from_bytes(raw, policy=policy.default)
    assert isinstance(sent, EmailMessage)
    assert subject in str(sent["Subject"])
    to = sent["To"]
    assert isinstance(to, AddressHeader)
    assert [(a.display_name, a.addr_spec) for a in to.addresses] == [(name, CUSTOMER)]
    body = sent.get_content()
    assert answer in body
    # The customer's own words, quoted, come back as they wrote them.
    assert f"> {subject}\n> {answer}" in body.replace("\r\n", "\n")
    assert "\x1b" not in body and "$B" not in body and "~{" not in body
    # Our own parser reads the answer back the same way (a reply to our reply).
    parsed = parse_message(raw)
    assert subject in parsed.subject
    assert [(a.name, a.email) for a in parsed.to] == [(name, CUSTOMER)]
    assert answer in parsed.body_text
