"""Mail arriving at an instance while a test does something else: an LMTP listener
process (the real intake path: stored, then processed into tickets) and a thread that
keeps delivering messages to it, each with an attachment of its own."""

from __future__ import annotations

import os
import smtplib
import socket
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

from tests.backup.instances import Instance

INFO = "info-en@helpline.localhost"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def message(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Sender {n} <sender{n}@example.net>"
    msg["To"] = INFO
    msg["Subject"] = f"Question number {n}"
    msg["Message-ID"] = make_msgid(f"backup{n}", "example.net")
    msg.set_content(f"Hello, this is message {n}.\n")
    # Bytes of its own: a blob over the inline limit, stored in the storage.
    msg.add_attachment(
        os.urandom(3000), maintype="application", subtype="octet-stream",
        filename=f"scan{n}.bin",
    )  # fmt: skip
    return msg.as_bytes().replace(b"\n", b"\r\n")


class MailFlow:
    def __init__(self, instance: Instance) -> None:
        self.port = free_port()
        self.listener = instance.popen(
            "mail", "listen", "--bind", f"127.0.0.1:{self.port}"
        )
        self.delivered = 0  # answered 250: stored
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._deliver, daemon=True)
        self._wait_for_listener()

    def _wait_for_listener(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.listener.poll() is not None:
                raise AssertionError(f"listener died: {self.listener.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the listener did not start")

    def start(self) -> None:
        self._thread.start()

    def _deliver(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                with smtplib.LMTP("127.0.0.1", self.port, timeout=30) as client:
                    client.sendmail(f"sender{n}@example.net", [INFO], message(n))
                self.delivered += 1
            except (smtplib.SMTPException, OSError) as exc:
                self.errors.append(repr(exc))
                return

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.delivered < count and not self.errors:
            assert time.monotonic() < deadline, f"only {self.delivered} delivered"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(60)
        self.listener.terminate()
        self.listener.wait(30)
        assert not self.errors, self.errors
