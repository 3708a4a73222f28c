"""A raw SMTP/LMTP client: commands end in CRLF, the data is sent exactly as given.

``smtplib`` turns every bare LF into CRLF before sending, so it cannot send what a
bare-LF client sends; this one can.
"""

from __future__ import annotations

import socket

INFO = "info-en@helpline.localhost"


def long_line_mail(
    line_bytes: int, *, eol: bytes = b"\n", subject: str = "Long"
) -> bytes:
    """A plain-text message whose body holds one line of ``line_bytes`` bytes."""
    head = [
        b"From: Jane Doe <jane@example.net>",
        b"To: " + INFO.encode(),
        b"Subject: " + subject.encode(),
        b"Message-ID: <long-" + str(line_bytes).encode() + subject.encode() + b"@x>",
        b"MIME-Version: 1.0",
        b"Content-Type: text/plain; charset=us-ascii",
        b"",
        b"Before the long line.",
        b"x" * line_bytes,
        b".A line that starts with a dot.",
        b"After the long line.",
    ]
    return eol.join(head) + eol


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def stuffed(raw: bytes, eol: bytes) -> bytes:
    """``raw`` as it travels in DATA: lines starting with a dot get another one."""
    return raw.replace(eol + b".", eol + b"..")


class Session:
    """A raw LMTP/SMTP client: commands with CRLF, data exactly as given."""

    def __init__(self, where: tuple[str, int]) -> None:
        self.sock = socket.create_connection(where, timeout=30)
        self.stream = self.sock.makefile("rwb")
        assert self.reply()[0] == 220

    def reply(self) -> tuple[int, list[bytes]]:
        lines = []
        while True:
            line = self.stream.readline()
            assert line, "the server closed the connection"
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def command(self, text: str) -> int:
        self.stream.write(text.encode() + b"\r\n")
        self.stream.flush()
        return self.reply()[0]

    def send(self, data: bytes, replies: int) -> list[int]:
        self.stream.write(data)
        self.stream.flush()
        return [self.reply()[0] for _ in range(replies)]

    def close(self) -> None:
        self.command("QUIT")
        self.stream.close()
        self.sock.close()
