"""What a redaction costs on SQLite, and the purge of the full-text index after it.

    .venv/bin/python bench/redaction.py --sizes 20000,100000 [--runs 7] [--reuse]

For each size a SQLite database of its own under var/bench/redaction-<size>/ is
seeded with ``helpline bench seed`` (``--reuse`` keeps one already seeded); then, in
a fresh process on that database, as agent ``bench`` (given ``redact``), for --runs
tickets drawn at random:

- baseline: a ticket fetched by primary key (the noise floor of this machine, now);
- redaction: ``actions.redaction.redact`` of the first article's text (the request's
  part: the rows, the raw mail when there is one, the history, the index entry
  rebuilt in the transaction), with the purge left to the worker as in production;
- purge: ``SearchBackend.purge_removed()`` right after it, what the worker runs (on
  SQLite every segment of the FTS5 index merged into one, so that the removed words
  are in no dump of the database, by 'merge' steps of 500 pages); and its longest
  step, the longest that other writers wait for the database's write lock;
- idle purge: the same again with nothing left to merge.

It prints the median and the slowest of each with its ratio to the baseline, and the
size of the index.  Benchmarks are not tests: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def environment(size: int) -> dict[str, str]:
    data = ROOT / "var" / "bench" / f"redaction-{size}"
    return {
        **os.environ,
        "HELPLINE_DATA_DIR": str(data),
        "HELPLINE_DATABASE_URL": f"sqlite:///{data / 'helpline.sqlite3'}",
        "HELPLINE_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
    }


def prepare(size: int, *, reuse: bool) -> float | None:
    """A seeded database of ``size`` tickets; the seconds seeding took (None: reused)."""
    env = environment(size)
    database = Path(env["HELPLINE_DATA_DIR"]) / "helpline.sqlite3"
    helpline = [sys.executable, "-m", "helpline.cli"]
    if reuse and database.exists():
        subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
        return None
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
    started = time.perf_counter()
    subprocess.run(
        [*helpline, "bench", "seed", "--tickets", str(size)], env=env, check=True
    )
    return time.perf_counter() - started


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(runs: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import connection

    from helpline.actions import admin, redaction
    from helpline.models import Group, Permission, Ticket
    from helpline.search.base import get_backend

    agent = admin.get_agent("bench")
    for group in Group.objects.filter(grants__agent=agent).distinct():
        admin.grant(group, [Permission.REDACT], agent=agent)
    readable = list(Ticket.objects.visible_to(agent).values_list("pk", "number"))
    backend = get_backend()
    times: dict[str, list[float]] = {
        "baseline (pk lookup)": [],
        "redaction of a text": [],
        "purge (FTS5 merge)": [],
        "longest purge step": [],
        "idle purge": [],
    }
    steps: list[float] = []

    def step_timer(
        execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            steps.append((time.perf_counter() - started) * 1000)

    removal = redaction.Removal(body=True)
    for pk, number in random.Random(1).sample(readable, runs):
        times["baseline (pk lookup)"].append(
            timed(lambda pk=pk: Ticket.objects.get(pk=pk))
        )
        article = Ticket.objects.get(pk=pk).articles.order_by("pk").first()
        assert article is not None
        times["redaction of a text"].append(
            timed(
                lambda number=number, article=article: redaction.redact(
                    agent,
                    number=number,
                    article_id=article.pk,
                    removal=removal,
                    reason="bench",
                )
            )
        )
        steps.clear()
        with connection.execute_wrapper(step_timer):
            times["purge (FTS5 merge)"].append(timed(backend.purge_removed))
        times["longest purge step"].append(max(steps))
        times["idle purge"].append(timed(backend.purge_removed))
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(length(block)) FROM helpline_search_fts_data")
        index_bytes = int(cursor.fetchone()[0] or 0)
    return {
        "index_mb": index_bytes / 1e6,
        "ops": {
            name: {"median": statistics.median(values), "max": max(values)}
            for name, values in times.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs)))
        return
    # No worker runs: the purge the redaction queues waits, and is timed here.
    for size in (int(s) for s in args.sizes.split(",")):
        seeded = prepare(size, reuse=args.reuse)
        out = subprocess.run(
            [sys.executable, __file__, "--measure", "--runs", str(args.runs)],
            env=environment(size),
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        when = f"seeded in {seeded / 60:.1f} min" if seeded else "reused"
        print(
            f"\n{size:,} tickets ({when}); full-text index {result['index_mb']:.0f} MB"
        )
        base = result["ops"]["baseline (pk lookup)"]["median"]
        print(f"{'operation':<26}{'median ms':>12}{'max ms':>10}{'x base':>10}")
        for name, m in result["ops"].items():
            ratio = m["median"] / base
            print(f"{name:<26}{m['median']:>12.1f}{m['max']:>10.1f}{ratio:>10.0f}")


if __name__ == "__main__":
    main()
