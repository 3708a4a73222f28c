"""Recognising automatic mail from small, hand-written messages.

`classify()` is a pure function of the raw bytes (no database), so these tests
need no fixtures.
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpline.mail.automatic import AutoKind, Classification, classify

PERSON = b"""\
From: Alice Example <alice@example.org>
To: help@helpline.example
Subject: My printer is on fire
Message-ID: <p1@example.org>
Date: Mon, 02 Jun 2025 10:00:00 +0200
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello, could you please help me? The printer is on fire.
"""


def _person(*headers: str) -> bytes:
    """The person's message with extra header lines added on top."""
    extra = "".join(f"{h}\n" for h in headers).encode()
    return extra + PERSON


DSN_WITH_ORIGINAL = b"""\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: help@helpline.example
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain

This is the mail system at host mx.example.net.

<nobody@example.com>: host mail.example.com[192.0.2.1] said: 550 5.1.1
    <nobody@example.com>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; Nobody@Example.com
Original-Recipient: rfc822;nobody@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: Recipient address
    rejected: User unknown in local recipient table

--B1
Content-Type: @ORIGINAL_TYPE@

From: help@helpline.example
To: nobody@example.com
Subject: [Ticket#1001] Your request
Message-ID: <abc@helpline.example>

@ORIGINAL_BODY@
--B1--
"""


def _dsn(original_type: str, body: str = "") -> bytes:
    raw = DSN_WITH_ORIGINAL.replace(b"@ORIGINAL_TYPE@", original_type.encode())
    return raw.replace(b"@ORIGINAL_BODY@", body.encode())


def test_a_persons_mail_is_not_automatic_and_may_be_answered() -> None:
    result = classify(PERSON)
    assert result.kind is AutoKind.NONE
    assert result.loop is False
    assert result.reasons == []
    assert result.recipients == []


def test_precedence_bulk_is_list_mail_and_never_answered() -> None:
    result = classify(_person("Precedence: bulk"))
    assert result.kind is AutoKind.LIST
    assert result.loop is True
    assert "header Precedence: bulk" in result.reasons


def test_list_id_header_is_list_mail() -> None:
    result = classify(_person("List-Id: Cats <cats.lists.example.org>"))
    assert result.kind is AutoKind.LIST
    assert result.loop is True


def test_mailing_list_header_is_list_mail() -> None:
    result = classify(_person("Mailing-List: contact cats-help@example.org"))
    assert result.kind is AutoKind.LIST


def test_auto_submitted_no_means_a_person_sent_it() -> None:
    result = classify(_person("Auto-Submitted: no"))
    assert result.kind is AutoKind.NONE
    assert result.loop is False


def test_auto_submitted_auto_replied_is_an_auto_reply_with_its_reason() -> None:
    result = classify(_person("Auto-Submitted: auto-replied"))
    assert result.kind is AutoKind.AUTO_REPLY
    assert result.loop is True
    assert "header Auto-Submitted: auto-replied" in result.reasons
    assert [r.reason for r in result.recipients] == ["vacation"]


def test_mail_from_our_own_address_loops_but_is_not_automatic_kind() -> None:
    result = classify(PERSON, own_addresses={"alice@example.org"})
    assert result.kind is AutoKind.NONE
    assert result.loop is True
    assert "sent from our own address" in result.reasons


def test_our_loop_header_marks_a_loop() -> None:
    result = classify(_person("X-Helpline-Loop: 1"))
    assert result.loop is True
    assert result.kind is AutoKind.NONE
    custom = classify(_person("X-Desk-Loop: yes"), loop_header="X-Desk-Loop")
    assert custom.loop is True


def test_x_loop_and_any_precedence_value_mark_a_loop() -> None:
    assert classify(_person("X-Loop: desk@example.org")).loop is True
    assert classify(_person("Precedence: first-class")).loop is True
    assert classify(_person("Precedence: first-class")).kind is AutoKind.NONE


def test_dsn_with_returned_message_yields_the_original_message_id() -> None:
    result = classify(_dsn("message/rfc822", "Your ticket was received."))
    assert result.kind is AutoKind.BOUNCE
    assert result.loop is True
    assert result.original_message_ids == ["abc@helpline.example"]
    [rcpt] = result.recipients
    assert rcpt.address == "nobody@example.com"
    assert (rcpt.status, rcpt.reply_code) == ("5.1.1", "550")
    assert rcpt.reason == "userunknown"
    assert rcpt.hard is True
    assert any("delivery-status" in reason for reason in result.reasons)


def test_dsn_with_returned_headers_only_yields_the_original_message_id() -> None:
    result = classify(_dsn("text/rfc822-headers"))
    assert result.kind is AutoKind.BOUNCE
    assert result.original_message_ids == ["abc@helpline.example"]


def test_delayed_dsn_is_a_soft_bounce() -> None:
    raw = _dsn("message/rfc822").replace(b"Action: failed", b"Action: delayed")
    raw = raw.replace(b"Status: 5.1.1", b"Status: 4.4.7")
    raw = raw.replace(b"550 5.1.1", b"451 4.4.7")
    result = classify(raw)
    assert result.kind is AutoKind.BOUNCE
    assert result.recipients[0].status == "4.4.7"
    assert result.recipients[0].hard is False


def test_success_dsn_is_a_delivery_report() -> None:
    raw = _dsn("message/rfc822").replace(b"Action: failed", b"Action: delivered")
    raw = raw.replace(b"Status: 5.1.1", b"Status: 2.0.0")
    raw = raw.replace(b"smtp; 550 5.1.1", b"smtp; 250 2.0.0 Ok: queued")
    result = classify(raw)
    assert result.kind is AutoKind.DELIVERED
    assert result.recipients[0].reason == "delivered"
    assert result.recipients[0].status == "2.0.0"


QMAIL_BOUNCE = b"""\
From: MAILER-DAEMON@mx.example.net
To: help@helpline.example
Subject: failure notice

Hi. This is the qmail-send program at mx.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gone@example.com>:
192.0.2.25 does not like recipient.
Remote host said: 552 5.2.2 Mailbox is full
Giving up on 192.0.2.25.

--- Below this line is a copy of the message.

Return-Path: <help@helpline.example>
Received: (qmail 1 invoked by uid 0); 2 Jun 2025 10:00:00 -0000
Message-ID: <t1002.42@helpline.example>
From: help@helpline.example
To: gone@example.com
Subject: [Ticket#1002] Re: hello

Thanks for your mail.
"""


def test_text_bounce_finds_recipient_reason_and_quoted_original_id() -> None:
    result = classify(QMAIL_BOUNCE)
    assert result.kind is AutoKind.BOUNCE
    assert result.original_message_ids == ["t1002.42@helpline.example"]
    [rcpt] = result.recipients
    assert (rcpt.address, rcpt.status, rcpt.reply_code) == (
        "gone@example.com",
        "5.2.2",
        "552",
    )
    assert rcpt.reason == "mailboxfull"
    assert rcpt.hard is False


def test_exim_failed_recipients_header_marks_a_bounce() -> None:
    raw = _person("X-Failed-Recipients: lost@example.com").replace(
        b"Subject: My printer is on fire", b"Subject: Mail delivery failed"
    )
    result = classify(raw)
    assert result.kind is AutoKind.BOUNCE
    assert result.loop is True


GERMAN_OOO = """\
From: Bernd Beispiel <bernd@example.de>
To: help@helpline.example
Subject: =?utf-8?q?Abwesenheitsnotiz=3A_=5BTicket=231003=5D_Ihre_Anfrage?=
In-Reply-To: <t1003.1@helpline.example>
References: <t1003.0@helpline.example> <t1003.1@helpline.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Ich bin bis zum 15. Juni nicht im Büro und lese meine E-Mails nicht.
""".encode()


def test_german_out_of_office_is_an_auto_reply_pointing_at_our_mail() -> None:
    result = classify(GERMAN_OOO)
    assert result.kind is AutoKind.AUTO_REPLY
    assert result.loop is True
    assert result.original_message_ids == [
        "t1003.1@helpline.example",
        "t1003.0@helpline.example",
    ]
    assert result.recipients[0].address == "bernd@example.de"
    assert any("Abwesenheitsnotiz" in reason for reason in result.reasons)


def test_vendor_auto_reply_headers_are_auto_replies() -> None:
    for header in (
        "X-Autoreply: yes",
        "X-Autorespond: vacation",
        "X-Auto-Response-Suppress: OOF",
        "Precedence: auto_reply",
    ):
        assert classify(_person(header)).kind is AutoKind.AUTO_REPLY, header


def test_auto_reply_subjects_in_several_languages() -> None:
    for subject in (
        "Out of Office: Re: help",
        "Automatic reply: help",
        "Auto: help",
        "Autosvar: help",
        "R\u00e9ponse automatique : help",
        "Respuesta autom\u00e1tica: help",
    ):
        raw = PERSON.replace(b"My printer is on fire", subject.encode())
        result = classify(raw)
        assert result.kind is AutoKind.AUTO_REPLY, subject


ARF = b"""\
From: abuse@isp.example
To: help@helpline.example
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.
--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <complainer@isp.example>

--F
Content-Type: message/rfc822

From: help@helpline.example
To: complainer@isp.example
Subject: [Ticket#1004] Hello
Message-ID: <t1004@helpline.example>

Hello.
--F--
"""


def test_arf_abuse_report_is_feedback() -> None:
    result = classify(ARF)
    assert result.kind is AutoKind.FEEDBACK
    assert result.loop is True
    assert result.original_message_ids == ["t1004@helpline.example"]
    assert [(r.address, r.reason) for r in result.recipients] == [
        ("complainer@isp.example", "feedback")
    ]


def test_a_person_replying_about_an_absence_is_still_a_person() -> None:
    raw = PERSON.replace(b"My printer is on fire", b"Re: Out of office next week?")
    result = classify(raw)
    assert result.kind is AutoKind.NONE
    assert result.loop is False


def test_non_bounce_amazon_sns_notification_is_not_a_bounce() -> None:
    raw = PERSON.replace(
        b"Alice Example <alice@example.org>", b"AWS <no-reply@sns.amazonaws.com>"
    ).replace(b"The printer is on fire.", b'{"AlarmName": "disk full"}')
    assert classify(raw).kind is AutoKind.NONE


def test_a_person_forwarding_a_bounce_is_still_a_person() -> None:
    raw = PERSON.replace(
        b"My printer is on fire", b"Fwd: Undelivered Mail Returned to Sender"
    )
    result = classify(raw)
    assert result.kind is AutoKind.NONE
    assert result.loop is False


def test_mailer_daemon_sender_is_a_bounce_even_without_a_readable_body() -> None:
    raw = b"From: MAILER-DAEMON@mx.example.net\nSubject: ???\n\n\n"
    result = classify(raw)
    assert result.kind is AutoKind.BOUNCE
    assert result.loop is True


def test_null_envelope_sender_alone_loops_without_calling_it_a_bounce() -> None:
    result = classify(_person("Return-Path: <>"))
    assert result.kind is AutoKind.NONE
    assert result.loop is True


def test_crlf_line_endings_classify_like_lf() -> None:
    for raw in (PERSON, _dsn("message/rfc822"), QMAIL_BOUNCE, GERMAN_OOO, ARF):
        assert classify(raw.replace(b"\n", b"\r\n")) == classify(raw)


def test_huge_pathological_bounce_bodies_are_classified_quickly() -> None:
    """Regex work stays linear: long runs of address characters, dashes, blank
    lines or thousands of recipients must not take seconds (they once took
    minutes)."""
    head = b"From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\n\n"
    bodies = [
        b"a" * 1_000_000,
        b"-" * 1_000_000,
        b"\n" * 1_000_000,
        b"".join(b"user%d@example.com\n" % i for i in range(50_000)),
        b"Final-Recipient: rfc822; a@example.com\nAction: failed\n" * 20_000,
    ]
    for body in bodies:
        started = time.perf_counter()
        result = classify(head + body)
        elapsed = time.perf_counter() - started
        assert result.kind is AutoKind.BOUNCE
        assert len(result.recipients) <= 50
        assert elapsed < 3.0, (body[:20], elapsed)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.binary(max_size=3000))
def test_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    assert isinstance(classify(raw), Classification)


_HEADER_LINES = st.sampled_from(
    [
        b"From: MAILER-DAEMON\n",
        b"From: =?utf-8?q?broken\n",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n",
        b"Content-Type: message/rfc822\n",
        b"Content-Type: text/plain; charset=no-such-charset\n",
        b"Content-Transfer-Encoding: base64\n",
        b"Auto-Submitted: auto-replied\n",
        b"Subject: Undeliverable: \xff\xfe\n",
        b"\n",
        b"--x\n",
        b"--x--\n",
        b"Final-Recipient: rfc822; a@b\n",
        b"Status: 5.1.1\n",
        b"Action: failed\n",
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n",
        b"Message-ID: <\x00@x>\n",
        b'{"notificationType":\n',
    ]
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.one_of(_HEADER_LINES, st.binary(max_size=40)), max_size=40))
def test_never_raises_on_report_shaped_garbage(chunks: list[bytes]) -> None:
    result = classify(b"".join(chunks))
    assert isinstance(result.kind, AutoKind)
    assert all(isinstance(r.reason, str) for r in result.recipients)
