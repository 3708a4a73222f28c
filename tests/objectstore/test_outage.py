"""Store first, for real: a ``helpline mail listen`` process (a host with its own data
directory) on a SeaweedFS that goes down and comes back.  The listener answers 250 only
once the bucket holds the message, 451 while the store is down (the MTA keeps the
message and tries again), and the retry after the recovery becomes a ticket."""

from __future__ import annotations

import os
import smtplib
import subprocess
from pathlib import Path

import pytest

from helpline.models import InboundMessage, InboundStatus
from tests.objectstore.conftest import INLINE
from tests.objectstore.test_store import INFO, PDF, mail_with_parts, sha
from tests.seaweed import SeaweedServer
from tests.smtp_sink import free_port
from tests.transports import HELPLINE, subprocess_env, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Files a host may keep in its data directory whatever their size.
KEPT = {"jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm", "secret_key"}


@pytest.fixture
def own_seaweed(tmp_path) -> SeaweedServer:
    """A SeaweedFS of this test's own: it is stopped and started again."""
    server = SeaweedServer(tmp_path / "seaweed")
    server.directory.mkdir()
    server.start()
    yield server
    server.stop()


def lmtp(port: int, raw: bytes) -> tuple[int, bytes]:
    with smtplib.LMTP("127.0.0.1", port, timeout=60) as client:
        assert client.ehlo()[0] == 250
        assert client.mail("jane@example.net")[0] == 250
        assert client.rcpt(INFO)[0] == 250
        try:
            return client.data(raw)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code, exc.smtp_error


def big_files(directory: Path) -> list[str]:
    """Files over the inline limit under ``directory``, but the job database and
    the secret key."""
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(root, name)
            if name not in KEPT and path.stat().st_size > INLINE:
                found.append(str(path.relative_to(directory)))
    return found


def test_the_listener_answers_451_while_the_store_is_down_and_loses_nothing(
    own_seaweed, org, tmp_path
):
    host = tmp_path / "host"
    env = subprocess_env(
        host,
        **own_seaweed.env("host/"),
        HELPLINE_INLINE_BLOB_BYTES=str(INLINE),
    )
    port = free_port()
    listener = subprocess.Popen(  # noqa: S603
        [HELPLINE, "mail", "listen", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert listener.stdout.readline().startswith(b"Listening for LMTP")
        first = mail_with_parts("Before the outage")
        assert lmtp(port, first)[0] == 250
        stored = InboundMessage.objects.get()
        # smtplib sends CRLF line ends: the stored bytes are those of the wire.
        key = f"host/{stored.raw.path}"
        assert sha(own_seaweed.keys("host/")[key]) == stored.raw.sha256
        assert stored.raw.data is None

        own_seaweed.stop()
        second = mail_with_parts("During the outage")
        code, reply = lmtp(port, second)
        assert code == 451, reply
        assert InboundMessage.objects.count() == 1  # nothing half-stored

        own_seaweed.start()
        # The MTA's retry after the store came back.
        assert lmtp(port, second)[0] == 250
        message = wait_for_status(
            InboundMessage.objects.exclude(pk=stored.pk).get().pk, timeout=60
        )
    finally:
        listener.terminate()
        _, err = listener.communicate(timeout=30)
    assert message.status == InboundStatus.PROCESSED, message.error
    assert message.ticket.title == "During the outage"
    objects = own_seaweed.keys("host/")
    for blob_name in (message.raw.path, stored.raw.path):
        assert f"host/{blob_name}" in objects
    attachment = message.ticket.articles.get().attachments.get(filename="report.pdf")
    assert objects[f"host/{attachment.blob.path}"] == PDF
    # The host wrote no file larger than the inline limit: blobs are in the bucket.
    assert big_files(host) == [], err.decode()[-2000:]
