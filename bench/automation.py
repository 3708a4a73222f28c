"""An automation job over every ticket of a seeded database, and what an agent
working at the same time feels of it (PostgreSQL).

    .venv/bin/python bench/automation.py --tickets 100000 [--database NAME] [--batch 100]
        [--job-tickets 20000] [--seconds 20]

The database (``--database``, else helpline_bench_automation_<tickets>, created and
seeded with ``helpline bench seed`` unless it exists) is migrated; an administrator
and an agent are added (the agent with rw and override_lock everywhere), and a job
is defined over every ticket (``archived:any``, all queues; with ``--job-tickets N``
the largest queues that hold at least N) that sets priority 1 (or 2, whichever
fewer tickets have).
Then, in fresh processes:

- baseline: the agent changes the priority of random tickets (``set_priority``, one
  transaction each, as the web does) for ``--seconds`` while nothing else runs;
- the job's preview (count), then its run (``runner.run_now``), while the same agent
  loop runs in another process: the agent's update latency (median, p99, max, count
  over 1 s) during the run; each batch's transaction time, and the time its row
  locks are held (from the locking ``SELECT`` until the commit has returned); the
  statements the job sent per ticket; and the longest wait for a lock any backend
  showed in ``pg_stat_activity`` (sampled every 20 ms).

A benchmark, not a test: nothing here runs in ``make test``.  The job changes the
tickets (priority 1, history entries): run it on a database of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_PG", "postgres://root@127.0.0.1:5432")


def environment(name: str) -> dict[str, str]:
    return {
        **os.environ,
        "HELPLINE_DATABASE_URL": f"{PG}/{name}",
        "HELPLINE_DATA_DIR": str(ROOT / "var" / "bench"),
        "HELPLINE_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
        "PYTHONPATH": str(ROOT / "src"),
    }


def prepare(tickets: int, name: str) -> None:
    import psycopg

    admin = f"{PG}/postgres".replace("postgres://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    env = environment(name)
    helpline = [sys.executable, "-m", "helpline.cli"]
    subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
    if not exists:
        subprocess.run(
            [*helpline, "bench", "seed", "--tickets", str(tickets)], env=env, check=True
        )


def _setup() -> None:
    import django

    django.setup()


def people() -> tuple[Any, Any]:
    from django.contrib.auth import get_user_model

    from helpline.actions import admin
    from helpline.models import Group, Permission

    users = get_user_model()
    boss = users.objects.filter(username="bench-boss").first() or admin.create_agent(
        "bench-boss", email="bench-boss@example.org", is_admin=True
    )
    agent = users.objects.filter(username="bench-agent").first() or admin.create_agent(
        "bench-agent", email="bench-agent@example.org"
    )
    for group in Group.objects.all():
        admin.grant(group, [Permission.RW], agent=boss)
        admin.grant(group, [Permission.RW, Permission.OVERRIDE_LOCK], agent=agent)
    return boss, agent


def agent_loop(stop_file: str, seconds: float) -> dict[str, Any]:
    """Change random tickets' priority until ``stop_file`` exists (or ``seconds``)."""
    _setup()
    from django.contrib.auth import get_user_model

    from helpline.actions.tickets import set_priority
    from helpline.errors import HelplineError
    from helpline.models import Ticket

    agent = get_user_model().objects.get(username="bench-agent")
    top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    rng = random.Random(7)  # noqa: S311 - a benchmark's choice of tickets
    times, refused = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not os.path.exists(stop_file):
        pk = rng.randint(1, top)
        start = time.perf_counter()
        try:
            set_priority(agent, pk, rng.randint(2, 5))
        except HelplineError:
            refused += 1
            continue
        times.append(time.perf_counter() - start)
        time.sleep(0.01)
    return {"updates": len(times), "refused": refused, **_stats(times)}


def _stats(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    ordered = sorted(seconds)
    return {
        "over_1s": sum(1 for x in ordered if x > 1),
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def _agent_process(name: str, stop_file: str, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--agent", stop_file, "--seconds", str(seconds)],
        env=environment(name),
        stdout=subprocess.PIPE,
        text=True,
    )


class LockWatch(threading.Thread):
    """The longest lock wait seen in pg_stat_activity, sampled."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.longest, self.stop = dsn, 0.0, threading.Event()
        self.over_1s: dict[Any, str] = {}

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                rows = conn.execute(
                    "SELECT pid, state_change, extract(epoch FROM now() - state_change),"
                    " left(query, 60) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ).fetchall()
                for pid, since, waited, query in rows:
                    self.longest = max(self.longest, float(waited))
                    if waited > 1:
                        self.over_1s[(pid, since)] = query


def queues_for(tickets: int | None) -> list[str]:
    """Every queue, or the fewest (largest first) that hold at least ``tickets``."""
    from django.db.models import Count

    from helpline.models import Queue

    rows = list(
        Queue.objects.annotate(n=Count("tickets"))
        .order_by("-n")
        .values_list("name", "n")
    )
    if tickets is None:
        return [name for name, _ in rows]
    chosen, total = [], 0
    for name, n in rows:
        if total >= tickets:
            break
        chosen.append(name)
        total += n
    return chosen


def measure(
    name: str, batch: int, seconds: float, job_tickets: int | None
) -> dict[str, Any]:
    _setup()
    from django.conf import settings
    from django.db import connection

    from helpline.automation import definition, runner
    from helpline.models import Ticket

    settings.HELPLINE_AUTOMATION_BATCH = batch
    boss, _ = people()
    stop_file = str(ROOT / "var" / "bench" / "automation.stop")
    if os.path.exists(stop_file):
        os.remove(stop_file)
    baseline = _agent_process(name, stop_file, seconds)
    baseline_result = json.loads(baseline.communicate()[0].strip().splitlines()[-1])

    # The rarer of 1 and 2, so that a second run changes as many tickets as a first.
    ones = Ticket.objects.filter(priority=1).count()
    priority = 1 if ones < Ticket.objects.filter(priority=2).count() else 2
    old = definition.AutomationJob.objects.filter(name="bench-all").first()
    if old is not None:
        definition.delete_job(boss, old)
    job = definition.create_job(
        boss,
        "bench-all",
        definition.JobSpec(
            query="archived:any",
            queues=queues_for(job_tickets),
            actions=[{"do": "priority", "priority": priority}],
        ),
    )
    start = time.perf_counter()
    count = runner.preview(boss, job).count
    preview_s = time.perf_counter() - start

    batches: list[float] = []
    held: list[float] = []
    original, took = runner._batch, runner.Pace.took

    def timed_batch(*args: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            batches.append(time.perf_counter() - begun)

    def timed_pace(pace: Any, seconds: float) -> None:
        held.append(seconds)  # from the locking SELECT until the commit returned
        took(pace, seconds)

    runner._batch = timed_batch  # type: ignore[assignment]
    runner.Pace.took = timed_pace  # type: ignore[method-assign]
    statements = [0]

    def counted(execute: Any, sql: str, *args: Any) -> Any:
        statements[0] += 1
        return execute(sql, *args)

    watch = LockWatch(f"{PG}/{name}".replace("postgres://", "postgresql://"))
    watch.start()
    agent = _agent_process(name, stop_file, 24 * 3600)
    time.sleep(2)  # the agent is working before the job starts
    start = time.perf_counter()
    with connection.execute_wrapper(counted):
        run = runner.run_now(boss, job)
    took = time.perf_counter() - start
    Path(stop_file).touch()
    during = json.loads(agent.communicate()[0].strip().splitlines()[-1])
    watch.stop.set()
    watch.join()
    return {
        "tickets": Ticket.objects.count(),
        "matched": count,
        "preview_s": preview_s,
        "run_s": took,
        "run": {"tickets": run.matched, "changed": run.changed, "failed": run.failed},
        "per_second": run.matched / took if took else 0,
        "batch": batch,
        "batches": len(batches),
        "batch_transaction": _stats(batches),
        "batch_locks_held": _stats(held),
        "statements_per_ticket": statements[0] / run.matched if run.matched else 0,
        "agent_alone": baseline_result,
        "agent_during_run": during,
        "longest_lock_wait_ms": watch.longest * 1000,
        "lock_waits_over_1s": sorted(set(watch.over_1s.values())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--job-tickets",
        type=int,
        help="The job covers the largest queues holding at least this many tickets "
        "(default: every queue, every ticket).",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--agent", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agent:
        print(json.dumps(agent_loop(args.agent, args.seconds)))
        return
    name = args.database or f"helpline_bench_automation_{args.tickets}"
    if args.measure:
        print(json.dumps(measure(name, args.batch, args.seconds, args.job_tickets)))
        return
    prepare(args.tickets, name)
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            "--database",
            name,
            "--batch",
            str(args.batch),
            "--seconds",
            str(args.seconds),
            *(["--job-tickets", str(args.job_tickets)] if args.job_tickets else []),
        ],
        env=environment(name),
        check=True,
        capture_output=True,
        text=True,
    )
    print(json.dumps(json.loads(out.stdout.strip().splitlines()[-1]), indent=2))


if __name__ == "__main__":
    main()
