"""What one /metrics scrape costs at N inbound messages: queries and milliseconds.

    .venv/bin/python bench/scrape.py --messages 100000 --backend postgres
    .venv/bin/python bench/scrape.py --messages 100000 --backend sqlite

It makes a fresh database (PostgreSQL: ``--database``, default
``helpline_bench_scrape`` at ``--pg``, dropped afterwards; SQLite: a temporary
file), migrates it, inserts ``--messages`` inbound messages (97 % processed, 2 %
rejected, 0.5 % quarantined, 0.5 % still received; the last ``--recent`` received
in the last hour, the others a day older for each 5 000), ``--messages``/10 sent
outbox rows and 50 queued ones, and two worker heartbeats, then times ``--repeat``
scrapes: the database part (``take_snapshot``: its queries counted) and the whole
text of /metrics (``helpline.monitoring.metrics.render``).  For comparison it times
a count of every message by status, which the scrape does not make.  It prints the
median and the slowest of each.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPLINE = str(Path(sys.executable).parent / "helpline")
BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="helpline_bench_scrape")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--recent", type=int, default=100)
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL database afterwards"
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="helpline-bench-scrape-"))
    if args.backend == "postgres":
        url = f"{args.pg}/{args.database}"
        _psql(args.pg, f"DROP DATABASE IF EXISTS {args.database}")
        _psql(args.pg, f"CREATE DATABASE {args.database}")
    else:
        url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    os.environ.update(
        HELPLINE_DATA_DIR=str(data_dir),
        HELPLINE_DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="helpline.settings",
    )
    try:
        subprocess.run([HELPLINE, "migrate", "-v0"], check=True, cwd=ROOT)
        _run(args)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.backend == "postgres" and not args.keep:
            from django.db import connections

            connections.close_all()
            _psql(args.pg, f"DROP DATABASE IF EXISTS {args.database}")


def _psql(server: str, sql: str) -> None:
    subprocess.run(
        ["psql", f"{server}/postgres", "-q", "-c", sql],
        check=True,
        capture_output=True,
    )


def _fill(messages: int, recent: int) -> float:
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from helpline.models import (
        Blob,
        InboundMessage,
        InboundStatus,
        OutboxMessage,
        OutboxStatus,
        WorkerBeat,
    )

    start = time.perf_counter()
    now = timezone.now()
    raw = b"From: a@example.net\r\nSubject: bench\r\n\r\nbody\r\n"
    blob = Blob.objects.create(
        sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), data=raw
    )

    def status_of(i: int) -> str:
        slot = i % 200
        if slot == 0:
            return InboundStatus.QUARANTINED
        if slot == 1:
            return InboundStatus.RECEIVED
        if slot < 6:
            return InboundStatus.REJECTED
        return InboundStatus.PROCESSED

    for first in range(0, messages, BATCH):
        with transaction.atomic():
            InboundMessage.objects.bulk_create(
                InboundMessage(
                    raw=blob,
                    sha256=hashlib.sha256(b"%d" % i).hexdigest(),
                    message_id=f"<bench-{i}@example.net>",
                    transport="bench",
                    status=status_of(i),
                )
                for i in range(first, min(first + BATCH, messages))
            )
            # auto_now_add set "now"; all but the last ``recent`` are older.
            InboundMessage.objects.filter(
                message_id__in=[
                    f"<bench-{i}@example.net>"
                    for i in range(first, min(first + BATCH, messages - recent))
                ]
            ).update(received=now - timedelta(days=1 + (messages - first) // BATCH))
    outbox = [
        OutboxMessage(
            raw=blob,
            message_id=f"<out-{i}@example.net>",
            envelope_from="helpline@example.org",
            recipients=["a@example.net"],
            status=OutboxStatus.SENT if i >= 50 else OutboxStatus.QUEUED,
            next_attempt=now,
        )
        for i in range(50 + messages // 10)
    ]
    OutboxMessage.objects.bulk_create(outbox, batch_size=BATCH)
    for n in (1, 2):
        WorkerBeat.objects.create(
            name=f"bench:{n}", started=now - timedelta(hours=1), beat=now
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


def _run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpline.monitoring.gauges import take_snapshot
    from helpline.monitoring.metrics import render

    filled = _fill(args.messages, args.recent)
    print(f"{args.backend}: {args.messages} inbound messages stored in {filled:.1f} s")
    take_snapshot()  # warm: the first query of a connection pays for its set-up
    snapshot_ms, queries = [], set()
    per_query: dict[int, list[float]] = {}
    for _ in range(args.repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            snap = take_snapshot()
            snapshot_ms.append((time.perf_counter() - start) * 1000)
        queries.add(len(captured))
        for n, query in enumerate(captured.captured_queries):
            per_query.setdefault(n, []).append(float(query["time"]) * 1000)
    render_ms = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        text = render()
        render_ms.append((time.perf_counter() - start) * 1000)
    from django.db.models import Count

    from helpline.models import InboundMessage

    everything_ms = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        list(InboundMessage.objects.values("status").annotate(n=Count("*")))
        everything_ms.append((time.perf_counter() - start) * 1000)
    print(
        f"waiting/quarantined: {snap.inbound}; last hour: {snap.last_hour}; "
        f"outbox unsent: {snap.outbox}"
    )
    print(f"queries per scrape: {sorted(queries)}")
    for n, times in per_query.items():
        sql = captured.captured_queries[n]["sql"]
        print(f"  query {n + 1}: median {statistics.median(times):.1f} ms  {sql[:90]}")
    print(
        f"database part (take_snapshot), {args.repeat} runs: median "
        f"{statistics.median(snapshot_ms):.1f} ms, slowest {max(snapshot_ms):.1f} ms"
    )
    print(
        f"whole /metrics text (render), {args.repeat} runs: median "
        f"{statistics.median(render_ms):.1f} ms, slowest {max(render_ms):.1f} ms, "
        f"{len(text)} bytes"
    )
    print(
        f"not made: a count of every message by status, {args.repeat} runs: median "
        f"{statistics.median(everything_ms):.1f} ms, slowest {max(everything_ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
