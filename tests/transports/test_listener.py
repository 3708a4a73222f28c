"""The LMTP/SMTP listener, driven by ``smtplib`` as an MTA would drive it.

The listener runs in this process (``make_controller``) on a free port; its threads use
their own database connections, so these tests commit (``transaction=True``).
"""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess

import pytest

from helpline.blobstore import read_blob
from helpline.mail.transports.listener import make_controller
from helpline.models import InboundMessage, InboundStatus, Ticket
from tests.mail import messages
from tests.transports import HELPLINE, subprocess_env, wait_for_status
from tests.transports.dovecot import free_port

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def mail(**kwargs) -> bytes:
    """A test message with the CRLF line ends it has on the wire."""
    return messages.mail(**kwargs).replace(b"\n", b"\r\n")


INFO = "info-en@helpline.localhost"
PRESS = "press@helpline.localhost"


@pytest.fixture
def listener(org):
    """Start a listener (LMTP unless smtp=True) after settings are in place."""
    started = []

    def start(*, smtp: bool = False) -> tuple[str, int]:
        controller = make_controller("127.0.0.1", free_port(), smtp=smtp)
        controller.start()
        started.append(controller)
        return controller.hostname, controller.port

    yield start
    for controller in started:
        controller.stop()


def lmtp_client(where: tuple[str, int]) -> smtplib.LMTP:
    client = smtplib.LMTP(*where, timeout=10)
    code, _ = client.ehlo()  # smtplib.LMTP sends LHLO
    assert code == 250
    return client


def send_lmtp(
    where: tuple[str, int], raw: bytes, recipients: list[str], *, size: bool = False
) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
    """(RCPT replies, DATA replies): LMTP answers DATA once per accepted recipient.

    smtplib reads only the first of those replies (CPython issue gh-76984), so the
    others are read here; a client reading too few or too many would hang.
    """
    client = lmtp_client(where)
    options = [f"SIZE={len(raw)}"] if size else []
    code, reply = client.mail("sender@example.net", options)
    if code != 250:
        client.close()
        return [(code, reply)], []
    rcpt = [client.rcpt(r) for r in recipients]
    accepted = sum(1 for code, _ in rcpt if code == 250)
    data: list[tuple[int, bytes]] = []
    if accepted:
        data.append(client.data(raw))
        data += [client.getreply() for _ in range(accepted - 1)]
    # Still in step: the next command gets its own reply.
    assert client.noop()[0] == 250
    client.quit()
    return rcpt, data


def test_one_message_to_two_recipients_gets_a_250_per_recipient_and_is_stored_once(
    listener, org
):
    where = listener()
    raw = mail(to=f"{INFO}, {PRESS}", subject="For both of you")
    rcpt, data = send_lmtp(where, raw, [PRESS, INFO])
    assert [code for code, _ in rcpt] == [250, 250]
    assert [code for code, _ in data] == [250, 250]
    assert all(
        reply.startswith(b"2.0.0 Stored as inbound message") for _, reply in data
    )
    message = InboundMessage.objects.get()
    assert read_blob(message.raw) == raw
    assert message.transport == "lmtp"
    assert message.envelope_recipients == [PRESS, INFO]
    message = wait_for_status(message.pk)
    assert message.status == InboundStatus.PROCESSED
    # The envelope recipient decides the queue: the first one that is ours.
    assert message.ticket.queue == org.press
    assert Ticket.objects.count() == 1


def test_an_unknown_recipient_gets_550_when_rejection_is_on(listener, settings):
    settings.HELPLINE_REJECT_UNKNOWN_RECIPIENTS = True
    where = listener()
    rcpt, data = send_lmtp(where, mail(), ["stranger@helpline.localhost", INFO])
    assert rcpt[0][0] == 550
    assert rcpt[0][1].startswith(b"5.1.1 <stranger@helpline.localhost>")
    assert rcpt[1][0] == 250
    # One DATA reply: only the accepted recipient gets one.
    assert [code for code, _ in data] == [250]
    assert InboundMessage.objects.get().envelope_recipients == [INFO]


def test_an_unknown_recipient_is_accepted_when_rejection_is_off(listener, org):
    where = listener()
    rcpt, data = send_lmtp(where, mail(to="x@y.example"), ["x@y.example"])
    assert [code for code, _ in rcpt + data] == [250, 250]
    message = wait_for_status(InboundMessage.objects.get().pk)
    assert message.ticket.queue == org.raw


def test_a_message_over_the_limit_gets_552_per_recipient_and_is_not_stored(
    listener, settings
):
    settings.HELPLINE_MAX_MESSAGE_BYTES = 3000
    where = listener()
    raw = mail(body="y" * 5000)
    rcpt, data = send_lmtp(where, raw, [INFO, PRESS])
    assert [code for code, _ in rcpt] == [250, 250]
    assert [code for code, _ in data] == [552, 552]
    assert all(reply.startswith(b"5.3.4") for _, reply in data)
    assert not InboundMessage.objects.exists()


def test_a_message_announced_over_the_limit_gets_552_at_mail_from(listener, settings):
    settings.HELPLINE_MAX_MESSAGE_BYTES = 3000
    where = listener()
    client = lmtp_client(where)
    assert client.has_extn("size")
    assert client.esmtp_features["size"] == "3000"
    replies, data = send_lmtp(where, mail(body="y" * 5000), [INFO], size=True)
    assert replies[0][0] == 552
    assert replies[0][1].startswith(b"5.3.4")
    assert data == []
    client.quit()
    assert not InboundMessage.objects.exists()


def test_a_storage_failure_answers_451_and_the_retry_is_stored(
    listener, settings, tmp_path
):
    # A real disk failure: the attachment directory cannot be created (its parent
    # is a file), and every message is big enough to go there.
    settings.HELPLINE_INLINE_BLOB_BYTES = 0
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "media"
    where = listener()
    raw = mail()
    rcpt, data = send_lmtp(where, raw, [INFO, PRESS])
    assert [code for code, _ in data] == [451, 451]
    assert all(reply.startswith(b"4.3.0") for _, reply in data)
    assert not InboundMessage.objects.exists()

    settings.MEDIA_ROOT = tmp_path / "media"  # the disk is back; the MTA retries
    rcpt, data = send_lmtp(where, raw, [INFO, PRESS])
    assert [code for code, _ in data] == [250, 250]
    assert read_blob(InboundMessage.objects.get().raw) == raw


def test_smtp_mode_answers_once_after_data_and_stores_once(listener, org):
    where = listener(smtp=True)
    with smtplib.SMTP(*where, timeout=10) as client:
        refused = client.sendmail("sender@example.net", [INFO, PRESS], mail())
        assert refused == {}
        assert client.noop()[0] == 250
    message = wait_for_status(InboundMessage.objects.get().pk)
    assert message.transport == "smtp"
    assert message.envelope_recipients == [INFO, PRESS]
    assert message.ticket.queue == org.info


def test_lmtp_refuses_helo_and_ehlo(listener):
    where = listener()
    with socket.create_connection(where, 5) as sock, sock.makefile("rwb") as stream:
        assert stream.readline().startswith(b"220 ")
        stream.write(b"EHLO client.example\r\n")
        stream.flush()
        assert stream.readline().startswith(b"500 ")


def test_the_listener_binds_only_to_the_address_given(listener):
    where = listener()
    # 127.0.0.2 is this machine too, but not the address the listener was given.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", where[1]), 5).close()


def test_mail_listen_serves_lmtp_and_stops_cleanly_on_sigterm(org, tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [HELPLINE, "mail", "listen", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(tmp_path),
    )
    try:
        assert process.stdout.readline() == (
            f"Listening for LMTP on 127.0.0.1:{port}.\n".encode()
        )
        rcpt, data = send_lmtp(("127.0.0.1", port), mail(), [INFO])
        assert [code for code, _ in data] == [250]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines()[-1] == "Stopped."
    message = wait_for_status(InboundMessage.objects.get().pk)
    assert message.ticket.queue == org.info
