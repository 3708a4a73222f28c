"""``helpline postmaster``, run as the MTA runs it: a process with a message on stdin.

The exit status is what the MTA acts on (sysexits.h): 0 stored, 75 retry later, 65
refuse the message, 64 fix the configuration.
"""

from __future__ import annotations

import socket
import subprocess

import pytest

from helpline.models import InboundMessage, InboundStatus, Ticket
from tests.mail.messages import mail
from tests.transports import HELPLINE, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def postmaster(tmp_path, raw: bytes, *args: str, **env: str):
    return subprocess.run(
        [HELPLINE, "postmaster", *args],
        input=raw,
        capture_output=True,
        env=subprocess_env(tmp_path, **env),
        timeout=60,
        check=False,
    )


def test_a_piped_message_is_stored_processed_into_a_ticket_and_exits_0(org, tmp_path):
    raw = mail(to="press@helpline.localhost", subject="Photo request")
    done = postmaster(tmp_path, raw)
    assert done.returncode == 0, done.stderr.decode()
    message = InboundMessage.objects.get()
    assert message.transport == "pipe"
    assert message.sha256 and message.raw.size == len(raw)
    assert message.status == InboundStatus.PROCESSED
    assert message.ticket.queue == org.press
    assert message.ticket.title == "Photo request"
    assert not message.trust_headers


def test_the_same_message_piped_twice_is_one_message_and_one_ticket(org, tmp_path):
    raw = mail()
    assert postmaster(tmp_path, raw).returncode == 0
    again = postmaster(tmp_path, raw, "-v", "2")
    assert again.returncode == 0, again.stderr.decode()
    assert b"already stored" in again.stderr
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_queue_and_trust_headers_options_are_stored_with_the_message(org, tmp_path):
    done = postmaster(
        tmp_path, mail(to="info-en@helpline.localhost"), "--queue", "press",
        "--trust-headers",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    message = InboundMessage.objects.get()
    assert message.queue_hint == org.press
    assert message.trust_headers
    assert message.ticket.queue == org.press


def test_a_message_that_fails_processing_is_accepted_and_quarantined(db, tmp_path):
    # No queue at all: routing fails.  The message is stored, so the MTA is done.
    done = postmaster(tmp_path, mail(to="nobody@elsewhere.example"))
    assert done.returncode == 0, done.stderr.decode()
    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.QUARANTINED
    assert "default queue" in message.reason
    assert "Traceback" in message.error


def test_empty_input_exits_65_and_stores_nothing(org, tmp_path):
    done = postmaster(tmp_path, b"")
    assert done.returncode == 65
    assert b"no message on standard input" in done.stderr
    assert not InboundMessage.objects.exists()


def test_a_message_over_the_size_limit_exits_65_with_the_reason(org, tmp_path):
    raw = mail(body="x" * 5000)
    done = postmaster(tmp_path, raw, HELPLINE_MAX_MESSAGE_BYTES="2000")
    assert done.returncode == 65
    assert f"message too big: {len(raw)} bytes".encode() in done.stderr
    assert not InboundMessage.objects.exists()


def test_an_unknown_queue_exits_64_with_a_clear_message(org, tmp_path):
    done = postmaster(tmp_path, mail(), "--queue", "Nonesuch")
    assert done.returncode == 64
    assert b"--queue 'Nonesuch': no such queue" in done.stderr
    assert not InboundMessage.objects.exists()


def test_an_unknown_option_exits_64(org, tmp_path):
    done = postmaster(tmp_path, mail(), "--bogus")
    assert done.returncode == 64
    assert b"unrecognized arguments: --bogus" in done.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "database",
    ["sqlite-in-missing-directory", "postgres-on-closed-port"],
)
def test_an_unreachable_database_exits_75_so_the_mta_retries(org, tmp_path, database):
    if database.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/no/such/directory/helpline.sqlite3"
    else:
        url = f"postgres://postgres@127.0.0.1:{_closed_port()}/helpline"
    done = postmaster(tmp_path, mail(), HELPLINE_DATABASE_URL=url)
    assert done.returncode == 75, done.stderr.decode()
    assert b"could not store the message, try again later" in done.stderr
    assert not InboundMessage.objects.exists()
