"""Reports at scale (docs/reports.md, docs/performance.md).

    .venv/bin/python bench/reports.py \\
        --database-url postgres://.../hl_bench_20000 \\
        --database-url postgres://.../hl_bench_100000

Each database is one seeded by ``helpline bench seed --tickets N``.  For each, the
script rebuilds the report aggregates (tickets per second), runs the incremental
update with nothing changed, then times a year of reports (the year up to the
newest ticket): per week over every queue (an agent reading all of them), per day
over every queue, per week of one queue, and the reports page itself; median and
95th percentile of --repeat calls each (and the median as a multiple of a ticket
fetched by primary key in the same run, ``x_base``), with the number of SQL queries
of one call and the number of day rows the year holds.  The query count and the
rows read depend on days x queues, not on tickets: compare the two sizes.  On PostgreSQL it
prints the plan of the year's main query (EXPLAIN ANALYZE).  The aggregates of the
database are rebuilt: use a bench database, never a real one.
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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def timed(call: Callable[[], object], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 1),
    }


def figures(repeat: int, keep: bool) -> dict[str, object]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from helpline.actions import admin, reports, reports_aggregate
    from helpline.models import Group, Permission, Queue, ReportDay, Ticket

    setup_test_environment()
    tickets = Ticket.objects.count()
    started = time.perf_counter()
    aggregated = 0 if keep else reports_aggregate.rebuild_reports()
    rebuild_s = time.perf_counter() - started
    started = time.perf_counter()
    reports_aggregate.update_reports()
    update_s = time.perf_counter() - started

    from django.contrib.auth import get_user_model

    reader = get_user_model().objects.filter(username="bench-reports").first()
    if reader is None:
        reader = admin.create_agent(
            "bench-reports", email="bench-reports@example.org", is_admin=True
        )
        for group in Group.objects.all():
            admin.grant(group, [Permission.RO], agent=reader)
    newest = Ticket.objects.order_by("-created").values_list("created", flat=True)[0]
    end = newest.date()
    start = end - timedelta(days=364)
    queue = Queue.objects.order_by("pk").first()
    assert queue is not None

    def year(unit: str, queue_id: int | None = None) -> Callable[[], object]:
        return lambda: reports.build_report(
            reader, start=start, end=end, unit=unit, queue_id=queue_id
        )

    def count_queries(call: Callable[[], object]) -> int:
        with CaptureQueriesContext(connection) as ctx:
            call()
        return len(ctx.captured_queries)

    client = Client()
    client.force_login(reader)
    url = f"/reports/?start={start}&end={end}&unit=week"

    def page() -> object:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")
        return response

    cases = {
        "year per week, all queues": year("week"),
        "year per day, all queues": year("day"),
        "year per week, one queue": year("week", queue.pk),
        "reports page, year per week": page,
    }
    result: dict[str, object] = {
        "tickets": tickets,
        "queues": Queue.objects.count(),
        "rebuild tickets/s": None if keep else round(aggregated / rebuild_s),
        "update with nothing changed (s)": round(update_s, 2),
        "day rows (all)": ReportDay.objects.count(),
        "day rows in the year (queues)": ReportDay.objects.filter(
            agent_id=0, day__gte=start, day__lte=end
        ).count(),
    }
    rng = random.Random(7)  # noqa: S311 - reproducible picks
    top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    pks = iter([rng.randrange(1, top + 1) for _ in range(repeat * 20)])
    # The noise floor of the machine now: a ticket by primary key.
    base = timed(lambda: Ticket.objects.filter(pk=next(pks)).first(), repeat * 10)
    result["baseline (pk lookup)"] = base
    for name, call in cases.items():
        call()  # warm
        figures = timed(call, repeat)
        x_base = round(figures["median_ms"] / (base["median_ms"] or 0.1), 1)
        result[name] = {**figures, "x_base": x_base, "queries": count_queries(call)}
    if connection.vendor == "postgresql":
        qs = ReportDay.objects.filter(
            agent_id=0,
            queue_id__in=list(Queue.objects.values_list("pk", flat=True)),
            day__gte=start,
            day__lte=end,
        ).values("day", "queue_id", "received", "first_response_hist")
        result["plan"] = qs.explain(analyze=True).splitlines()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", metavar="URL", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--keep", action="store_true", help="Reuse the aggregates: no rebuild."
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    os.environ.setdefault("HELPLINE_LOG_LEVEL", "WARNING")
    os.environ.setdefault("HELPLINE_ALLOWED_HOSTS", "testserver,127.0.0.1")
    if args.one:
        print(json.dumps(figures(args.repeat, args.keep)))
        return
    results = {}
    for url in args.database_url:
        # Each database in a process of its own (Django is set up once per process).
        env = {**os.environ, "HELPLINE_DATABASE_URL": url}
        env.setdefault("HELPLINE_DATA_DIR", str(ROOT / "var" / "bench"))
        out = subprocess.run(  # noqa: S603 - this interpreter, this script
            [sys.executable, __file__, "--one", "--repeat", str(args.repeat)]
            + (["--keep"] if args.keep else []),
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        results[url.rsplit("/", 1)[-1]] = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
