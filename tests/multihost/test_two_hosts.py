"""Two hosts, one PostgreSQL, one Redis: what an operator running Helpline on two
machines relies on (docs/multihost.md).

Each host is a set of real ``helpline`` processes (tests/multihost/hosts.py) with its
own data directory; the hosts share the secret key, the test database, a private
Redis server and the blob store.  One test walks through the scenarios in order, as an
operator would see them, because starting the hosts is the slow part:

1. a 1 MB mail with an attachment delivered to A's listener while only B runs a worker
   becomes a ticket made by B's worker; the attachment comes byte-exact from B's web
   pages and from B's REST API;
2. a session cookie got by logging in on A works on B;
3. failed logins spread over A and B are counted together, and API requests spread
   over A and B share one rate limit;
4. with workers on both hosts, replies queued together are each delivered once (by
   Message-ID at the SMTP sink), through the kicks of both workers and the periodic
   runs of both schedulers;
5. every process of the host whose worker holds the outbox lease (stuck sending to a
   stalling SMTP server) is killed with SIGKILL: the other host takes the lease over
   once it expires, turns mail delivered to its listener into tickets, and nothing
   received earlier is lost.

Several hosts need PostgreSQL: hosts cannot share a SQLite file (it lives on one
machine's disk), so on SQLite the module is skipped with that reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import subprocess
import threading
import time
import uuid
from email import policy
from email.message import EmailMessage

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from helpline import jobs
from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.mail import hooks, outbound
from helpline.models import (
    Attachment,
    InboundMessage,
    InboundStatus,
    JobLease,
    OutboxMessage,
    OutboxStatus,
    Ticket,
)
from tests.multihost.hosts import HELPLINE, Host, host_env, redis_server
from tests.seaweed import SeaweedServer, seaweed_settings
from tests.smtp_sink import SmtpSink, _Handler
from tests.support import database_url

if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    pytest.skip(
        "several hosts need PostgreSQL: hosts cannot share a SQLite database "
        "(run with HELPLINE_DATABASE_URL=postgres://...; .ci/run's second leg does)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.postgres
Agent = get_user_model()
_ATTACHMENT = bytes(range(256)) * (768 * 1024 // 256)  # 768 KiB, not inline
INLINE_LIMIT = 256 * 1024
LEASE_SECONDS = 4
LOGIN_LIMIT = 5  # failures per login and client address
API_LIMIT = 12  # requests per minute per token
REPLIES = 12
PASSWORD = "correct horse battery staple 7"
STALL = "X-Test-Stall"


class StallingHandler(_Handler):
    """The sink, except that a message with the ``X-Test-Stall`` header hangs in DATA
    until ``release`` is set (a server that stops answering mid-send), then is
    deferred (451) and not kept."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.stalled = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        if STALL.encode() in bytes(envelope.content):
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.1)
            return "451 4.3.0 stalled"
        return await super().handle_DATA(server, session, envelope)


def _wait(what: str, until, hosts: list[Host], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}\n" + "\n".join(h.logs() for h in hosts)
            )
        time.sleep(0.2)


def _away_from_window_end(window: int, margin: float = 4) -> None:
    """Counters count in fixed windows aligned on the clock: start a counted series
    only when it cannot straddle two windows."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.1)


def _big_mail(attachment: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Reader <reader@example.net>"
    msg["To"] = "info@helpline.localhost"
    msg["Subject"] = "Scan of the contract"
    msg["Message-ID"] = "<big-one@example.net>"
    msg.set_content("The contract, scanned, is attached.\n")
    msg.add_attachment(
        attachment, maintype="application", subtype="pdf", filename="contract.pdf"
    )
    return msg.as_bytes(policy=policy.SMTP)


def _small_mail(tag: str) -> bytes:
    return (
        f"From: Reader <{tag}@example.net>\r\n"
        "To: info@helpline.localhost\r\n"
        f"Subject: Question {tag}\r\n"
        f"Message-ID: <{tag}@example.net>\r\n"
        "\r\n"
        f"Body of {tag}.\r\n"
    ).encode()


def _lmtp(host: Host, raw: bytes) -> None:
    import smtplib

    with smtplib.LMTP("127.0.0.1", host.lmtp_port) as lmtp:
        lmtp.sendmail("reader@example.net", ["info@helpline.localhost"], raw)


def _login(host: Host, password: str, session: requests.Session | None = None):
    session = session or requests.Session()
    page = session.get(f"{host.url}/login/", timeout=30)
    assert page.status_code == 200, page.text
    return session, session.post(
        f"{host.url}/login/",
        data={
            "username": "ada",
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{host.url}/login/"},
        allow_redirects=False,
        timeout=30,
    )


def _queue_reply(i: int, *, stall: bool = False) -> str:
    message_id = f"<reply-{i}-{uuid.uuid4().hex[:8]}@helpline.localhost>"
    raw = (
        "From: info@helpline.localhost\r\n"
        f"To: reader{i}@example.net\r\n"
        f"Subject: Answer {i}\r\n"
        f"Message-ID: {message_id}\r\n"
        + (f"{STALL}: yes\r\n" if stall else "")
        + "\r\n"
        f"Answer number {i}.\r\n"
    ).encode()
    with transaction.atomic():
        outbound.queue_message(
            raw,
            message_id=message_id,
            envelope_from="info@helpline.localhost",
            recipients=[f"reader{i}@example.net"],
            article=None,
        )
    return message_id


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory):
    with SeaweedServer(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_hosts_share_one_installation(tmp_path, monkeypatch, settings, seaweed):
    started = _CLOCK[0] = time.monotonic()
    seaweed_settings(settings, seaweed, prefix="multihost/")  # this process, too
    group = admin.create_group("Support")
    admin.create_queue("Info", group=group, email="info@helpline.localhost")
    ada = admin.create_agent("ada", email="ada@example.org", password=PASSWORD)
    admin.grant(group, ["rw"], agent=ada)
    token = create_token(ada, name="two hosts").secret

    handler = StallingHandler()
    sink = SmtpSink()
    sink.handler = handler
    sink.start()
    jobs_name = f"helpline-multihost-{uuid.uuid4().hex[:12]}"
    with redis_server(tmp_path) as redis_url:
        shared = {
            "HELPLINE_DATABASE_URL": database_url(),
            "HELPLINE_SECRET_KEY": "multihost-" + uuid.uuid4().hex,
            "HELPLINE_REDIS_URL": redis_url,
            **seaweed.env("multihost/"),
            "HELPLINE_JOBS_NAME": jobs_name,
            "HELPLINE_JOBS_IMMEDIATE": "0",
            "HELPLINE_WORKER_THREADS": "1",
            "HELPLINE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "HELPLINE_INLINE_BLOB_BYTES": str(INLINE_LIMIT),
            "HELPLINE_SMTP_URL": sink.url,
            "HELPLINE_API_RATE_LIMIT": str(API_LIMIT),
            "HELPLINE_LOGIN_FAILURES_PER_LOGIN_AND_CLIENT": str(LOGIN_LIMIT),
            "HELPLINE_ARGON2_TIME_COST": "1",
            "HELPLINE_ARGON2_MEMORY_KIB": "8192",
        }
        a = Host("A", tmp_path, host_env("A", tmp_path, shared=shared))
        b = Host("B", tmp_path, host_env("B", tmp_path, shared=shared))
        hosts = [a, b]
        saved = (HUEY._immediate, HUEY.storage)
        try:
            # The test process enqueues to the hosts' Redis, as a host would.
            HUEY._immediate = False
            HUEY.storage = RedisStorage(name=jobs_name, url=redis_url)
            a.start("web", "listener")
            b.start("web", "listener", "worker")
            _phase("hosts started")
            # What an operator runs on each host after set-up (both at once).
            checks = [
                subprocess.Popen(
                    [HELPLINE, "check", "--deploy"],
                    env=host.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for host in hosts
            ]
            for check in checks:
                output, _ = check.communicate(timeout=120)
                assert re.findall(r"helpline\.W02[012]", output) == [], output
            _phase("helpline check --deploy on both")
            _scenarios(a, b, handler, sink, token, monkeypatch)
        finally:
            HUEY._immediate, HUEY.storage = saved
            handler.release.set()
            for host in hosts:
                host.stop()
            sink.stop()
    # No blob over the inline limit was written to any host's disk: all in S3.
    for host in hosts:
        assert host.files_over(INLINE_LIMIT) == [], host.name
    stored = seaweed.keys("multihost/")
    assert any(data == _ATTACHMENT for data in stored.values()), sorted(stored)
    _phase("hosts stopped, disks and bucket checked")
    print(f"\nwhole test {time.monotonic() - started:.1f} s: {_PHASES}")


_PHASES: list[str] = []
_CLOCK = [time.monotonic()]


def _phase(name: str) -> None:
    now = time.monotonic()
    _PHASES.append(f"{name} {now - _CLOCK[0]:.1f} s")
    _CLOCK[0] = now


def _scenarios(a: Host, b: Host, handler, sink, token, monkeypatch) -> None:
    hosts = [a, b]
    # --- 1. received on A, processed on B, served by B ------------------------------
    attachment = _ATTACHMENT
    raw = _big_mail(attachment)
    assert len(raw) > 1_000_000
    _lmtp(a, raw)
    inbound = InboundMessage.objects.get()  # the only one yet
    _wait(
        "the big mail to be processed",
        lambda: (
            InboundMessage.objects.get(pk=inbound.pk).status != InboundStatus.RECEIVED
        ),
        hosts,
    )
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROCESSED, (inbound.reason, inbound.error)
    assert inbound.transport == "lmtp"
    executed = "Executing helpline.jobs.process_inbound_job"
    assert executed in b.log("worker").read_text()  # only B runs a worker
    ticket = inbound.ticket
    assert ticket is not None
    item = Attachment.objects.get(article__ticket=ticket, filename="contract.pdf")
    assert item.size == len(attachment) and item.blob.size > INLINE_LIMIT

    _phase("1. received on A, processed by B")
    # --- 2. a session from A's login page works on B --------------------------------
    session, answer = _login(a, PASSWORD)
    assert answer.status_code == 302, answer.text
    on_b = session.get(
        f"{b.url}/ticket/{ticket.number}/", allow_redirects=False, timeout=30
    )
    assert on_b.status_code == 200, on_b.status_code
    web = session.get(
        f"{b.url}/ticket/{ticket.number}/attachment/{item.pk}/", timeout=60
    )
    assert web.status_code == 200
    assert hashlib.sha256(web.content).digest() == hashlib.sha256(attachment).digest()
    api = requests.get(
        f"{b.url}/api/v1/tickets/{ticket.number}/articles/{item.article_id}"
        f"/attachments/{item.pk}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert api.status_code == 200, api.text
    assert api.content == attachment

    _phase("2. served by B")
    # --- 3. failed logins and API requests counted across hosts ---------------------
    _away_from_window_end(django_settings.HELPLINE_LOGIN_WINDOW)
    for i in range(LOGIN_LIMIT):
        _, answer = _login(hosts[i % 2], "wrong password")
        assert answer.status_code == 200, (i, answer.status_code)  # form error
    _, answer = _login(hosts[LOGIN_LIMIT % 2], PASSWORD)  # the right one, too late
    assert answer.status_code == 429, answer.status_code
    _, answer = _login(hosts[(LOGIN_LIMIT + 1) % 2], PASSWORD)
    assert answer.status_code == 429, answer.status_code

    script = create_token(Agent.objects.get(username="ada"), name="script").secret
    _away_from_window_end(60)
    statuses = [
        requests.get(
            f"{hosts[i % 2].url}/api/v1/me",
            headers={"Authorization": f"Bearer {script}"},
            timeout=30,
        ).status_code
        for i in range(API_LIMIT + 2)
    ]
    assert statuses == [200] * API_LIMIT + [429, 429], statuses

    _phase("3. throttles")
    # --- 4. the outbox from both hosts' workers: each reply sent once ---------------
    a.start("worker")
    ids = [_queue_reply(i) for i in range(REPLIES)]  # each kicks a send job

    for _ in range(6):  # more runs than rows to race for
        jobs.send_outbox_job()
    _wait(
        "the replies to be sent",
        lambda: (
            OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == REPLIES
        ),
        hosts,
    )

    # No send job may still wait in the queue: one would take the next row without
    # the lease this scenario is about.
    _wait("the send jobs to be taken", lambda: HUEY.storage.queue_size() == 0, hosts)
    time.sleep(1)
    _phase("4. outbox from both hosts")
    # --- 5. a host dies while its worker holds the outbox lease ---------------------
    # Queued without a kick: the minute's periodic outbox run (under its lease) takes it.
    monkeypatch.setattr(hooks, "on_outbox_queued", [])
    stalled_id = _queue_reply(99, stall=True)
    stalled = OutboxMessage.objects.get(message_id=stalled_id)
    # Each scheduler enqueues the periodic jobs every 60 s from its own start, and
    # only the first copy in a minute's slot sends.  The test enqueues a copy as soon
    # as the minute turns, as a scheduler ticking then would: the stall comes within
    # a minute instead of up to a minute and a half.
    turn = time.time() // 60 * 60 + 60.05
    handler.stalled.wait(timeout=turn - time.time())  # unless a scheduler was first
    if not handler.stalled.is_set():
        jobs.send_outbox_periodic()
    _wait("a periodic run to hold the outbox lease", handler.stalled.is_set, hosts)
    _phase("5. waited for the minute's outbox run")
    lease = JobLease.objects.get(name="helpline-outbox")
    holder_pid = int(lease.holder.split(":")[1])
    victim, survivor = (a, b) if holder_pid == a.pid("worker") else (b, a)
    assert holder_pid == victim.pid("worker"), (lease.holder, a.procs, b.procs)
    # The other host's scheduler enqueues its copy of the minute's job too (its
    # clock ticks at its own second): the survivor's worker finds the lease held and
    # retries when it would expire.  Without this copy the takeover still comes, at
    # the survivor's next tick (up to a minute later), which is slower to test.
    jobs.send_outbox_periodic()
    before = [f"before-kill-{i}" for i in range(3)]
    for tag in before:
        _lmtp(victim, _small_mail(tag))
    victim.kill()
    killed = timezone.now()
    after = [f"after-kill-{i}" for i in range(3)]
    for tag in after:
        _lmtp(survivor, _small_mail(tag))
    _wait(
        "every message to be processed by the survivor",
        lambda: (
            not InboundMessage.objects.filter(status=InboundStatus.RECEIVED).exists()
        ),
        hosts,
    )
    statuses = {
        m.strip("<>"): status
        for m, status in InboundMessage.objects.values_list("message_id", "status")
    }
    for tag in before + after:
        assert statuses[f"{tag}@example.net"] == InboundStatus.PROCESSED, statuses
    assert Ticket.objects.filter(title__startswith="Question after-kill").count() == 3
    _phase("5. mail before and after the kill processed")
    # The lease the dead worker held expires and the survivor takes it over.
    _wait(
        "the survivor to take the lease over",
        lambda: "taken over by" in survivor.log("worker").read_text(),
        hosts,
        LEASE_SECONDS + 70,
    )
    taken = re.search(
        r"lease helpline-outbox of (\S+) expired", survivor.log("worker").read_text()
    )
    assert taken and taken.group(1) == lease.holder, survivor.logs()
    _phase("5. lease taken over")
    # The message being sent stays "sending" until its claim expires (10 minutes):
    # the server may have it.  Then the outbox marks it failed for an agent to check.
    stalled.refresh_from_db()
    assert stalled.status == OutboxStatus.SENDING and stalled.claimed_until > killed
    OutboxMessage.objects.filter(pk=stalled.pk).update(
        claimed_until=timezone.now() - outbound.CLAIM
    )
    jobs.send_outbox_job()
    _wait(
        "the abandoned send to be marked failed",
        lambda: OutboxMessage.objects.get(pk=stalled.pk).status == OutboxStatus.FAILED,
        hosts,
    )
    assert (
        "may or may not have been delivered"
        in OutboxMessage.objects.get(pk=stalled.pk).last_error
    )
    # Nothing received was lost: every message ended processed (none quarantined).
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {
        InboundStatus.PROCESSED
    }
    assert InboundMessage.objects.count() == 1 + len(before) + len(after)
    # Every reply arrived exactly once, after all these runs on both hosts.
    got = [r.message["Message-ID"] for r in sink.received]
    assert sorted(got) == sorted(ids), got
