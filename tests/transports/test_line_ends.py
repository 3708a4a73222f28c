"""Line ends and line lengths on every transport that reads mail: LMTP, SMTP, the pipe,
POP3 and IMAP.

A valid message is never refused for the way its lines end or for their length: a
message with bare LF line ends over ~100 KB used to get a permanent ``500 Line too
long`` from the listener (and bounced), and a POP3 message with a line over 8 MB
stayed on the server, failing every fetch.  The raw sockets here write exactly the
bytes given (``smtplib`` would turn every LF into CRLF).
"""

from __future__ import annotations

import subprocess

import pytest

from helpline.blobstore import read_blob
from helpline.mail.intake import receive
from helpline.mail.transports import accounts
from helpline.mail.transports.listener import make_controller
from helpline.models import InboundMessage, InboundStatus
from tests.transports import HELPLINE, subprocess_env, wait_for_status
from tests.transports.dovecot import free_port
from tests.transports.rawsmtp import Session, crlf, long_line_mail, stuffed

INFO = "info-en@helpline.localhost"
PRESS = "press@helpline.localhost"


@pytest.fixture
def listener(org):
    started = []

    def start(*, smtp: bool = False) -> tuple[str, int]:
        controller = make_controller("127.0.0.1", free_port(), smtp=smtp)
        controller.start()
        started.append(controller)
        return controller.hostname, controller.port

    yield start
    for controller in started:
        controller.stop()


def deliver(where, data: bytes, recipients: list[str], *, lmtp: bool = True):
    """(DATA replies, whether the session is still in step)."""
    session = Session(where)
    assert session.command(("LHLO" if lmtp else "EHLO") + " client.example") == 250
    assert session.command("MAIL FROM:<jane@example.net>") == 250
    for recipient in recipients:
        assert session.command(f"RCPT TO:<{recipient}>") == 250
    assert session.command("DATA") == 354
    codes = session.send(data, len(recipients) if lmtp else 1)
    in_step = session.command("NOOP") == 250
    session.close()
    return codes, in_step


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("ending", [b".\n", b".\r\n"], ids=["LF.LF", "LF.CRLF"])
@pytest.mark.parametrize("smtp", [False, True], ids=["lmtp", "smtp"])
def test_a_bare_lf_message_of_a_megabyte_with_a_long_line_is_stored_with_crlf(
    listener, org, ending, smtp
):
    where = listener(smtp=smtp)
    kind = f"{'smtp' if smtp else 'lmtp'}-{len(ending)}"
    raw = long_line_mail(1024 * 1024, subject=kind)
    codes, in_step = deliver(
        where, stuffed(raw, b"\n") + ending, [INFO, PRESS], lmtp=not smtp
    )
    assert codes == ([250] if smtp else [250, 250])
    assert in_step
    message = InboundMessage.objects.get()
    assert read_blob(message.raw) == crlf(raw)
    message = wait_for_status(message.pk)
    assert message.status == InboundStatus.PROCESSED
    assert message.ticket.queue == org.info
    assert message.message_id == f"long-1048576{kind}@x"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_crlf_line_of_300_kb_is_stored_unchanged(listener, org):
    where = listener()
    raw = long_line_mail(300 * 1024, eol=b"\r\n")
    codes, in_step = deliver(where, stuffed(raw, b"\r\n") + b".\r\n", [INFO])
    assert (codes, in_step) == ([250], True)
    assert read_blob(InboundMessage.objects.get().raw) == raw


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_a_message_over_the_limit_is_read_to_its_end_then_answered_552(
    listener, settings, eol
):
    settings.HELPLINE_MAX_MESSAGE_BYTES = 100_000
    where = listener()
    raw = long_line_mail(200_000, eol=eol)
    codes, in_step = deliver(where, stuffed(raw, eol) + b"." + eol, [INFO, PRESS])
    # Temporary for nothing, permanent for the size only, one reply per recipient,
    # and the session goes on.
    assert (codes, in_step) == ([552, 552], True)
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_dot_after_a_bare_lf_in_a_crlf_session_does_not_end_the_data(listener):
    """SMTP smuggling: a second message hidden behind ``LF . CRLF`` stays data."""
    where = listener()
    hidden = b"MAIL FROM:<evil@example.net>\r\nRCPT TO:<press@helpline.localhost>\r\n"
    data = (
        b"From: jane@example.net\r\nSubject: One\r\n\r\nfirst part\n.\r\n"
        + hidden
        + b"DATA\r\nSubject: smuggled\r\n\r\n.\r\n"
    )
    codes, in_step = deliver(where, data, [INFO])
    assert (codes, in_step) == ([250], True)
    stored = read_blob(InboundMessage.objects.get().raw)
    assert stored.startswith(
        b"From: jane@example.net\r\nSubject: One\r\n\r\nfirst part\r\n.\r\n"
    )
    assert b"MAIL FROM:<evil@example.net>\r\n" in stored
    assert stored.endswith(b"Subject: smuggled\r\n\r\n")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_lost_during_data_stores_nothing_and_the_listener_goes_on(
    listener,
):
    where = listener()
    session = Session(where)
    assert session.command("LHLO client.example") == 250
    assert session.command("MAIL FROM:<jane@example.net>") == 250
    assert session.command(f"RCPT TO:<{INFO}>") == 250
    assert session.command("DATA") == 354
    session.stream.write(b"Subject: cut off\n\n" + b"x" * 200_000)
    session.stream.flush()
    session.sock.close()
    session.stream.close()
    raw = long_line_mail(10, eol=b"\r\n")
    assert deliver(where, stuffed(raw, b"\r\n") + b".\r\n", [INFO]) == ([250], True)
    assert [read_blob(m.raw) for m in InboundMessage.objects.all()] == [raw]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_pipe_stores_a_bare_lf_message_with_a_long_line_unchanged(org, tmp_path):
    raw = long_line_mail(1024 * 1024, subject="piped")
    done = subprocess.run(
        [HELPLINE, "postmaster"],
        input=raw,
        capture_output=True,
        env=subprocess_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    message = InboundMessage.objects.get()
    assert read_blob(message.raw) == raw
    assert message.status == InboundStatus.PROCESSED
    assert message.ticket.queue == org.info


@pytest.mark.django_db
@pytest.mark.parametrize("protocol", ["pop3", "imap"])
def test_fetchers_take_a_message_whose_line_is_longer_than_8_mb(
    org, dovecot, mailbox, make_account, protocol
):
    raw = long_line_mail(9 * 1024 * 1024, eol=b"\r\n", subject=protocol)
    dovecot.deliver(*mailbox, raw)
    run = accounts.fetch_account(make_account(protocol))
    assert (run.stored, run.removed, run.errors) == (1, 1, [])
    assert read_blob(InboundMessage.objects.get().raw) == raw
    assert dovecot.messages(*mailbox) == []


@pytest.mark.django_db
def test_a_folded_message_id_is_found_when_storing(org):
    raw = b"From: jane@example.net\r\nMessage-ID:\r\n <folded.1@example.net>\r\n\r\nHi\r\n"
    message, _ = receive(raw, transport="pipe")
    assert message.message_id == "folded.1@example.net"
