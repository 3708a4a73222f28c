"""A private Postfix for the MTA tests: Debian's Postfix, started with its own files.

Each ``Postfix`` lives in a temporary directory of its own: ``etc/`` is its
``config_directory`` (``main.cf``, ``master.cf``, the lookup tables), ``queue/`` and
``data/`` its ``queue_directory`` and ``data_directory``, its log ``postfix.log`` (``maillog_file``, through the
``postlog`` service).  ``master.cf`` runs ``smtpd`` on a free port of 127.0.0.1 only and
nothing chrooted; mail for ``helpline.localhost`` goes by LMTP to the port where the
test starts (or does not start) Helpline's listener; all other mail goes to
``relayhost``, an aiosmtpd sink started by the test.  The tables are what
``helpline mail addresses --postfix-map`` prints.  Retries come quickly
(``queue_run_delay`` and backoff of a second or two) and ``postqueue -f`` forces one.

Postfix's master runs as root and drops to ``mail_owner`` (``postfix``) for its
services, so these tests run as root (CI and containers do).  A missing Postfix or an
ordinary user fails the test with the reason, never skips it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp_sink import SmtpSink, free_port

MISSING = (
    "Postfix is not installed: the MTA tests need a real Postfix. "
    "Install the Debian package postfix: sudo bash .ci/system-packages"
)

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {root}/postfix.log
maillog_file_prefixes = {root}
myhostname = mta.helpline.test
mydomain = helpline.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
biff = no
# Inbound: Helpline's addresses only, refused at RCPT otherwise, delivered by LMTP.
relay_domains = helpline.localhost
relay_recipient_maps = texthash:{root}/etc/recipients
transport_maps = texthash:{root}/etc/transport
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
message_size_limit = {size_limit}
lmtp_line_length_limit = 0
# Outbound (Helpline's replies): to the test's sink.
relayhost = [127.0.0.1]:{sink_port}
# Quick retries for the tests.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""

MASTER_CF = """\
127.0.0.1:{smtpd_port} inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
lmtp      unix  - - n -     - lmtp
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def _find_postfix() -> str:
    for candidate in (shutil.which("postfix"), "/usr/sbin/postfix"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(MISSING, pytrace=False)


@dataclass
class Postfix:
    root: Path
    smtpd_port: int
    lmtp_port: int  # where Helpline's listener is (to be) started
    sink: SmtpSink
    size_limit: int

    host = "127.0.0.1"

    @property
    def config(self) -> Path:
        """``config_directory``: main.cf, master.cf and the lookup tables."""
        return self.root / "etc"

    @property
    def smtp_url(self) -> str:
        return f"smtp://{self.host}:{self.smtpd_port}"

    @property
    def nexthop(self) -> str:
        return f"lmtp:inet:{self.host}:{self.lmtp_port}"

    def run(self, *argv: str, check: bool = True) -> str:
        """A Postfix command on this instance (``-c`` its directory); its output."""
        done = subprocess.run(
            [argv[0], "-c", str(self.config), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}"
                f"\nPostfix's log:\n{self.log()}",
                pytrace=False,
            )
        return done.stdout + done.stderr

    def log(self) -> str:
        path = self.root / "postfix.log"
        return path.read_text(errors="replace") if path.exists() else "(no log)"

    def write_tables(self, recipients: str, transport: str) -> None:
        (self.config / "recipients").write_text(recipients)
        (self.config / "transport").write_text(transport)

    def reload(self) -> None:
        """Postfix's processes reread main.cf and the texthash: tables."""
        self.run("postfix", "reload")

    def queue(self) -> list[dict]:
        """The messages in Postfix's queue (``postqueue -j``), deferred ones with
        their ``recipients[].delay_reason``."""
        out = self.run("postqueue", "-j")
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def flush(self) -> None:
        """Deliver the deferred mail now (``postqueue -f``)."""
        self.run("postqueue", "-f")

    def wait_for(self, what: str, test: Callable[[], object], timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while True:
            result = test()
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Postfix: {what} did not happen within {timeout}s. Queue: "
                    f"{self.queue()}\nPostfix's log:\n{self.log()}",
                    pytrace=False,
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if (self.root / "queue" / "pid" / "master.pid").exists():
            subprocess.run(
                ["postfix", "-c", str(self.config), "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            self._wait_for_master_to_exit()

    def _wait_for_master_to_exit(self, timeout: float = 15.0) -> None:
        pid_file = self.root / "queue" / "pid" / "master.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def start_postfix(sink: SmtpSink, *, size_limit: int) -> Postfix:
    postfix = _find_postfix()
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        pytest.fail(f"There is no user 'postfix'. {MISSING}", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail(
            "The Postfix tests start a private Postfix, whose master process runs as "
            "root: run them as root (as CI does).",
            pytrace=False,
        )
    root = Path(tempfile.mkdtemp(prefix="helpline-postfix-"))
    # Postfix's services run as mail_owner and must reach the queue below root.
    root.chmod(0o755)
    server = Postfix(root, free_port(), free_port(), sink, size_limit)
    for name in ("etc", "queue", "data"):
        (root / name).mkdir()
    owner = pwd.getpwnam("postfix")  # mail_owner: its data_directory is its own
    os.chown(root / "data", owner.pw_uid, owner.pw_gid)
    (server.config / "main.cf").write_text(
        MAIN_CF.format(root=root, sink_port=sink.port, size_limit=size_limit)
    )
    (server.config / "master.cf").write_text(
        MASTER_CF.format(smtpd_port=server.smtpd_port)
    )
    server.write_tables("", "")
    try:
        # check also creates the queue's subdirectories, owned by mail_owner.
        server.run(postfix, "check")
        server.run(postfix, "start")
        server.wait_for("smtpd listening", lambda: _answers(server))
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def _answers(server: Postfix) -> bool:
    import socket

    try:
        with socket.create_connection((server.host, server.smtpd_port), 1) as sock:
            return sock.recv(100).startswith(b"220 ")
    except OSError:
        return False


@pytest.fixture
def postfix(settings) -> Iterator[Postfix]:
    """A running private Postfix whose relayhost is a running sink; Helpline's
    outgoing mail goes through it (``HELPLINE_SMTP_URL``)."""
    sink = SmtpSink()
    sink.start()
    server = None
    try:
        server = start_postfix(sink, size_limit=settings.HELPLINE_MAX_MESSAGE_BYTES)
        settings.HELPLINE_SMTP_URL = server.smtp_url
        yield server
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.root, ignore_errors=True)
        sink.stop()
