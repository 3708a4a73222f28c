"""Several processes at once: ticket numbers stay unique and gap-free, one lock wins.

These run against the suite's database (SQLite in ``make test``, PostgreSQL in the
second leg of CI), with real separate processes and committed transactions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpline.actions import admin
from helpline.models import Permission, Ticket
from tests.support import (
    database_url,
    make_agent,
    make_group,
    make_queue,
    make_ticket,
)

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
TICKETS_EACH = 500


def _spawn(args: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HELPLINE_DATABASE_URL": database_url(),
        "HELPLINE_ATTACHMENT_DIR": str(tmp_path / "media"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.concurrency_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(procs: list[subprocess.Popen[str]], timeout: float) -> list[str]:
    lines: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
        lines.extend(out.split())
    return lines


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_processes_draw_unique_gap_free_ticket_numbers(tmp_path, settings):
    make_queue("Concurrent", group=make_group())
    procs = [
        _spawn(["create", "Concurrent", str(TICKETS_EACH)], tmp_path)
        for _ in range(PROCESSES)
    ]
    numbers = _wait(procs, timeout=300)
    total = PROCESSES * TICKETS_EACH
    assert len(numbers) == total
    assert len(set(numbers)) == total
    assert Ticket.objects.count() == total
    # DateChecksum: date + system id + counter + check digit; the counters are 1..N.
    prefix_len = 8 + len(settings.HELPLINE_SYSTEM_ID)
    counters = sorted(int(n[prefix_len:-1]) for n in numbers)
    if len({n[:8] for n in numbers}) == 1:  # not across midnight
        assert counters == list(range(1, total + 1))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_agents_locking_at_the_same_moment_exactly_one_wins(tmp_path):
    group = make_group()
    ticket = make_ticket(make_queue(group=group))
    logins = [f"racer{i}" for i in range(PROCESSES)]
    for login in logins:
        admin.grant(group, [Permission.RW], agent=make_agent(login))
    start_at = time.time() + 3.0  # every process is up and waiting by then
    procs = [
        _spawn(["lock", login, str(ticket.pk), str(start_at)], tmp_path)
        for login in logins
    ]
    results = _wait(procs, timeout=120)
    assert sorted(results) == ["lost"] * (PROCESSES - 1) + ["won"]
    ticket.refresh_from_db()
    assert ticket.locked
    assert ticket.owner.username in logins
