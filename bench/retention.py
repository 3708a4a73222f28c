"""Retention on PostgreSQL: the preview, and the run's pace, at a realistic size.

    .venv/bin/python bench/retention.py --tickets 100000 [--due 2000] [--reuse]

It seeds a database of its own (helpline_bench_retention_<tickets>, dropped and
recreated; --reuse keeps one that is seeded) with ``helpline bench seed``, gives
every queue a retention time chosen so that about --due closed tickets are due
(half the queues delete, half anonymise), and measures, in a fresh process:

- baseline: a ticket fetched by primary key (the noise floor of this machine, now);
- preview: ``retention.retention_preview()``, every queue's count and first 20
  numbers (median and 95th percentile of 20 calls): it must cost what is due, not
  what is kept;
- run: ``retention.run_retention()``, once (it removes what it finds): tickets per
  second, and the articles, attachments and blobs that went with them.

Figures are printed with their ratio to the baseline measured in the same run.  A
benchmark, not a test: nothing here runs in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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


def prepare(tickets: int, *, reuse: bool) -> tuple[str, float | None]:
    import psycopg

    name = f"helpline_bench_retention_{tickets}"
    admin = f"{PG}/postgres".replace("postgres://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists and reuse:
            return name, None
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = environment(name)
    helpline = [sys.executable, "-m", "helpline.cli"]
    subprocess.run([*helpline, "migrate"], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(
        [*helpline, "bench", "seed", "--tickets", str(tickets), "--queues", "10"],
        env=env,
        check=True,
    )
    return name, time.perf_counter() - start


def timed(call: Any, times: int) -> tuple[float, float]:
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    return statistics.median(seconds), seconds[int(len(seconds) * 0.95) - 1]


def measure(due: int) -> dict[str, Any]:
    """In the benchmark's database (a fresh process)."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from helpline.actions import retention
    from helpline.models import Queue, Ticket

    closed = Ticket.objects.filter(state_type="closed").order_by("closed_at")
    oldest = closed.values_list("closed_at", flat=True)[due - 1 : due].first()
    assert oldest is not None, "not enough closed tickets"
    days = (timezone.now() - oldest).days
    for i, queue in enumerate(Queue.objects.order_by("pk")):
        Queue.objects.filter(pk=queue.pk).update(
            retention_days=days, retention_action="delete" if i % 2 else "anonymise"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE helpline_ticket")
    pk = Ticket.objects.order_by("pk").values_list("pk", flat=True).first()
    baseline = timed(lambda: Ticket.objects.get(pk=pk), 200)
    preview_rows = retention.retention_preview()
    preview = timed(retention.retention_preview, 20)
    start = time.perf_counter()
    run = retention.run_retention()
    took = time.perf_counter() - start
    totals = run.report["totals"]
    removed = totals["deleted"] + totals["anonymised"]
    return {
        "tickets": Ticket.objects.count() + totals["deleted"],
        "due": sum(r.count for r in preview_rows),
        "baseline_ms": baseline[0] * 1000,
        "preview_ms": preview[0] * 1000,
        "preview_p95_ms": preview[1] * 1000,
        "run_s": took,
        "removed": removed,
        "per_second": removed / took if took else 0,
        "totals": totals,
        "errors": len(run.errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=2000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.due)))
        return
    name, seeded = prepare(args.tickets, reuse=args.reuse)
    out = subprocess.run(
        [sys.executable, __file__, "--measure", "--due", str(args.due)],
        env=environment(name),
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    base = figures["baseline_ms"]
    if seeded is not None:
        print(f"seeded {args.tickets} tickets in {seeded:.0f} s")
    print(f"tickets {figures['tickets']}, due {figures['due']}")
    print(f"baseline (ticket by pk)   {base:8.2f} ms")
    print(
        f"preview (all queues)      {figures['preview_ms']:8.2f} ms "
        f"(p95 {figures['preview_p95_ms']:.2f} ms, x{figures['preview_ms'] / base:.0f})"
    )
    print(
        f"run: {figures['removed']} tickets in {figures['run_s']:.1f} s = "
        f"{figures['per_second']:.0f} tickets/s; {figures['errors']} errors"
    )
    print("totals", json.dumps(figures["totals"]))


if __name__ == "__main__":
    main()
