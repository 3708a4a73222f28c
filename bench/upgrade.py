"""How long each migration blocks writes to a large database (PostgreSQL).

    .venv/bin/python bench/upgrade.py [--tickets 20000] [--from 0009_periodic_runs]
                                      [--reuse] [--json-out FILE]
                                      [--sql STATEMENT ...]

It makes a database of its own (helpline_upgrade_<tickets>; --reuse keeps one already
seeded), migrates it with this code and fills it with ``helpline bench seed``
(timed).  Then it takes the migrations after --from off one at a time (newest
first: what a rollback to that release costs) and puts them back one at a time (an
upgrade from there), each with Django's migrate in this process
(HELPLINE_MIGRATE_LOCK_TIMEOUT=0: a migration here waits as long as it must, so
that its cost is measured, not refused).  Meanwhile another process writes to the
big tables without pause, one connection per table, each an UPDATE of one random
row every 20 ms, timing each write.  For each migration it prints how long it took
and the longest any write waited while it ran; one over a second is flagged: a
migration that makes writes wait that long stops agents and the mail intake for
as long, and does not belong in a release (docs/upgrading.md).  --sql runs a
statement of your own after the migrations, measured the same way (to compare, say,
CREATE INDEX CONCURRENTLY with a migration's CREATE INDEX).  Benchmarks are not
tests: nothing here runs in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import ADMIN_URL, database_url, environment, seeded_count  # noqa: E402

# The tables that grow with the tickets, and the queue table (small, but every
# ticket refers to it): the writes of agents and of the mail intake.
TABLES = (
    "helpline_ticket",
    "helpline_article",
    "helpline_history",
    "helpline_queue",
)
PROBE_PAUSE = 0.02
LIMIT = 1.0  # seconds a write may wait


# --- the writer (a process of its own) ----------------------------------------------
def _write_loop(url: str, table: str, stop: Any, out: list[tuple[str, float, float]]):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM {table} TABLESAMPLE SYSTEM (1) LIMIT 500"
            ).fetchall()
        ] or [row[0] for row in conn.execute(f"SELECT id FROM {table} LIMIT 500")]
        rng = random.Random(table)
        while not stop.is_set():
            started = time.time()
            # A write as any other: the row lock and the table's ROW EXCLUSIVE lock.
            conn.execute(f"UPDATE {table} SET id = id WHERE id = %s", [rng.choice(ids)])
            out.append((table, started, time.time() - started))
            time.sleep(PROBE_PAUSE)


def writer(url: str, stop: Any, results: Any, ready: Any) -> None:
    out: list[tuple[str, float, float]] = []
    threads = [
        threading.Thread(target=_write_loop, args=(url, t, stop, out)) for t in TABLES
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    ready.set()
    for thread in threads:
        thread.join()
    results.put(out)


# --- the database ---------------------------------------------------------------------
def prepare(tickets: int, *, reuse: bool, workers: int) -> dict[str, Any]:
    import psycopg

    name = f"helpline_upgrade_{tickets}"
    env = environment(database_url(name))
    helpline = [sys.executable, "-m", "helpline.cli"]
    if reuse and seeded_count(name) == tickets:
        subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
        return {"database": name, "seed_seconds": None}
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
    started = time.perf_counter()
    subprocess.run(
        [*helpline, "bench", "seed", "--tickets", str(tickets)]
        + ["--workers", str(workers)],
        env=env,
        check=True,
    )
    return {"database": name, "seed_seconds": time.perf_counter() - started}


def sizes(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = {
            table: conn.execute(
                "SELECT reltuples::bigint, pg_total_relation_size(oid) "
                "FROM pg_class WHERE relname = %s",
                [table],
            ).fetchone()
            for table in TABLES
        }
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return {
        "tables": {t: {"rows": r[0], "bytes": r[1]} for t, r in rows.items() if r},
        "database_bytes": total[0] if total else None,
    }


# --- the migrations ------------------------------------------------------------------
def helpline_plan() -> list[str]:
    """Helpline's migrations in the order they apply."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(connection).graph
    leaf = graph.leaf_nodes("helpline")[0]
    return [name for app, name in graph.forwards_plan(leaf) if app == "helpline"]


def run_steps(start: str, statements: list[str]) -> list[dict[str, Any]]:
    from django.core.management import call_command
    from django.db import connection

    plan = helpline_plan()
    if start not in plan:
        raise SystemExit(f"--from {start}: no such migration of helpline")
    later = plan[plan.index(start) + 1 :]
    steps: list[dict[str, Any]] = []

    def step(direction: str, migration: str, target: str) -> None:
        print(f"{direction:<9} {migration}", file=sys.stderr, flush=True)
        began = time.time()
        if direction == "sql":
            with connection.cursor() as cursor:  # autocommit, as migrate is not
                cursor.execute(target)
        else:
            call_command("migrate", "helpline", target, verbosity=0)
        steps.append(
            {
                "direction": direction,
                "migration": migration,
                "start": began,
                "end": time.time(),
            }
        )

    for index in range(len(later) - 1, -1, -1):
        target = later[index - 1] if index else start
        step("rollback", later[index], target)
    for migration in later:
        step("upgrade", migration, migration)
    for number, statement in enumerate(statements, 1):
        step("sql", f"--sql {number}", statement)
    return steps


def blocked(steps: list[dict[str, Any]], writes: list[tuple[str, float, float]]):
    """Each step with its duration and the longest time a write waited in it."""
    for s in steps:
        s["seconds"] = s["end"] - s["start"]
        s["writes"] = 0
        s["longest"] = {t: 0.0 for t in TABLES}
        for table, started, took in writes:
            # The part of the write's wait that fell within the step (a write the
            # step before kept waiting counts there).
            overlap = min(started + took, s["end"]) - max(started, s["start"])
            if overlap >= 0:
                s["writes"] += 1
                s["longest"][table] = max(s["longest"][table], overlap)
        s["worst"] = max(s["longest"].values())
    return steps


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['tickets']:,} tickets, database {result['database']} "
        f"({result['sizes']['database_bytes'] / 2**20:,.0f} MB); "
        + (
            f"seeded in {result['seed_seconds']:.0f} s"
            if result["seed_seconds"]
            else "reused"
        ),
        "rows: "
        + ", ".join(
            f"{t.removeprefix('helpline_')} {v['rows']:,}"
            for t, v in result["sizes"]["tables"].items()
        ),
        f"writer: one UPDATE of a random row every {PROBE_PAUSE * 1000:.0f} ms per "
        f"table; median write outside migrations {result['baseline_ms']:.1f} ms",
        "",
    ]
    short = [t.removeprefix("helpline_") for t in TABLES]
    head = f"{'step':<9} {'migration':<36}{'seconds':>9}{'writes':>8}" + "".join(
        f"{s + ' ms':>13}" for s in short
    )
    lines += [head, "-" * len(head)]
    for s in result["steps"]:
        flag = "  > 1 s" if s["worst"] > LIMIT else ""
        lines.append(
            f"{s['direction']:<9} {s['migration']:<36}{s['seconds']:>9.2f}"
            f"{s['writes']:>8}"
            + "".join(f"{s['longest'][t] * 1000:>13.0f}" for t in TABLES)
            + flag
        )
    over = [s for s in result["steps"] if s["worst"] > LIMIT]
    lines.append("")
    lines.append(
        f"{len(over)} of {len(result['steps'])} steps made a write wait over "
        f"{LIMIT:.0f} s"
        + (": " + ", ".join(f"{s['direction']} {s['migration']}" for s in over))
        if over
        else f"no step made a write wait over {LIMIT:.0f} s"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--from", dest="start", default="0009_periodic_runs")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--sql",
        action="append",
        default=[],
        metavar="STATEMENT",
        help="After the migrations, run this statement (autocommit) the same way: "
        "how another way of making a change would block (repeatable).",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json-out", metavar="FILE")
    parser.add_argument("--report", metavar="FILE", help="Print a saved --json-out.")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads(Path(args.report).read_text())))
        return

    info = prepare(args.tickets, reuse=args.reuse, workers=args.workers)
    url = database_url(info["database"])
    os.environ.update(environment(url))
    os.environ["HELPLINE_MIGRATE_LOCK_TIMEOUT"] = "0"
    import django

    django.setup()

    context = multiprocessing.get_context("spawn")
    stop, ready, results = context.Event(), context.Event(), context.Queue()
    pg_url = url.replace("postgres://", "postgresql://")
    process = context.Process(target=writer, args=(pg_url, stop, results, ready))
    process.start()
    ready.wait(60)
    time.sleep(1)  # writes before the first step: the baseline
    steps = run_steps(args.start, args.sql)
    time.sleep(1)
    stop.set()
    writes = results.get(timeout=120)
    process.join(30)

    outside = sorted(
        took
        for _, started, took in writes
        if not any(s["start"] <= started <= s["end"] for s in steps)
    )
    result = {
        **info,
        "tickets": args.tickets,
        "sizes": sizes(pg_url),
        "baseline_ms": outside[len(outside) // 2] * 1000 if outside else 0.0,
        "steps": blocked(steps, writes),
    }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))
    print(report(result))


if __name__ == "__main__":
    main()
