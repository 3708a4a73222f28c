"""Inbound mail throughput: the whole pipeline against the stdlib parse floor.

    .venv/bin/python bench/ingest.py --n 2000 --workers 2 --backends sqlite,postgres

For a stream from ../shared/bench/gen_mail.py it measures, in one run:

- floor: stdlib ``message_from_bytes(policy=default)`` + body + attachments, per
  message, in this process (the best of three passes);
- pipeline: store, parse, classify, filter, route, thread and write (tickets, articles,
  attachments, history), then what runs after the commit (search indexing,
  auto-response and notification hooks) — ``receive`` for each message, then
  ``process_batch`` for every ``--batch`` messages stored (what the worker does when
  mail arrives faster than it is processed one by one), with jobs run at once — in N
  worker processes on a fresh database per backend (each thread of messages stays in
  one worker so its follow-ups arrive after their first message, as in real life).  PostgreSQL runs on a database this script creates and drops
  (``--database``, default ``helpline_bench_ingest``, at ``--pg``);
- pipe: ``helpline postmaster`` with one process per message, as an MTA pipe
  delivers (a sample of the stream, one message after the other).

``--blob-store file,s3`` runs the pipeline once per blob store: ``s3`` on a SeaweedFS
that this script starts on free ports (tests/seaweed.py) and stops; with
``--inline-bytes`` lower than the default 256 KiB, more blobs leave the database
(docs/object-store.md).  The last line gives each store's rate against ``file``.

It prints messages/s for each, the ratios to the floor, the SQL queries per message
(by kind of message) and how many follow-ups landed on the right ticket.  The machine
may be shared and noisy: the floor is measured in the same run so the ratios stay
comparable between runs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout, or beside the directory of git worktrees.
GEN = next(
    (
        gen
        for gen in (p / "shared" / "bench" / "gen_mail.py" for p in ROOT.parents)
        if gen.exists()
    ),
    ROOT.parent / "shared" / "bench" / "gen_mail.py",
)
ADDRESSES = {
    "info": "info@example.org",
    "permissions": "permissions@example.org",
    "press": "press@example.org",
}
BENCH_DB = "helpline_bench_ingest"
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# A worker that takes longer than this is stuck: the bench stops instead of hanging.
WORKER_TIMEOUT = 1800
PIPE_TIMEOUT = 120


def floor(blobs: list[bytes]) -> float:
    """Seconds for the stdlib parse of every message (body and attachments read)."""
    start = time.perf_counter()
    for raw in blobs:
        msg = message_from_bytes(raw, policy=policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
        if body is not None:
            body.get_content()
        for part in msg.iter_attachments():  # type: ignore[attr-defined]
            part.get_content()
    return time.perf_counter() - start


def _env(db_url: str, data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "HELPLINE_DATABASE_URL": db_url,
        "HELPLINE_DATA_DIR": data_dir,
        "HELPLINE_JOBS_IMMEDIATE": "1",
        "HELPLINE_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
    }


def _pg_admin(pg: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def database_name(name: str) -> str:
    """``--database``: a plain PostgreSQL name (it goes into DROP DATABASE)."""
    if not DATABASE_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(
            f"{name!r}: a PostgreSQL name: lower-case letters, digits and _, "
            "not starting with a digit, up to 63 characters"
        )
    return name


def _fresh_database(backend: str, data_dir: str, pg: str, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{data_dir}/bench.sqlite3"
    if backend != "postgres":
        raise SystemExit(f"unknown backend {backend!r}: use sqlite or postgres")
    _pg_admin(
        pg,
        f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
        f"CREATE DATABASE {name}",
    )
    return f"{pg.replace('postgresql://', 'postgres://', 1)}/{name}"


def _drop_database(backend: str, pg: str, name: str) -> None:
    if backend == "postgres":
        _pg_admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def setup_database(env: dict[str, str]) -> None:
    python = sys.executable
    subprocess.run(
        [python, "-m", "helpline.cli", "migrate", "-v0"], env=env, check=True
    )
    script = (
        "import django; django.setup()\n"
        "from helpline.actions import admin\n"
        "g = admin.create_group('bench')\n"
        "admin.create_queue('Raw', group=g)\n"
        + "".join(
            f"admin.create_queue({q!r}, group=g, email={a!r})\n"
            for q, a in ADDRESSES.items()
        )
    )
    subprocess.run([python, "-c", script], env=env, check=True)


def worker_main(list_file: str, start_at: float, batch: int) -> None:
    """Receive and process the listed messages; print timings and query counts."""
    import django

    django.setup()
    from django.db import connection

    from helpline.mail.intake import receive
    from helpline.mail.postmaster import process_batch

    entries = [line.split() for line in Path(list_file).read_text().splitlines()]
    work = [(kind, Path(path).read_bytes()) for kind, path in entries]
    queries: Counter[str] = Counter()
    kinds = Counter(kind for kind, _ in work)
    current = [""]

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries[current[0]] += 1
        return execute(sql, params, many, context)

    from django.conf import settings

    from helpline import blobstore

    if settings.HELPLINE_BLOB_STORE == "s3":
        # A long-running worker has its S3 client made: not inside the clock.
        blobstore.current().exists("blobs/warm-up")
    time.sleep(max(0.0, start_at - time.time()))
    # HELPLINE_BENCH_PROFILE=prefix: each worker's cProfile statistics in
    # prefix.<pid> (for pstats; the profiler's overhead slows the run).
    profile_to = os.environ.get("HELPLINE_BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_to else None
    if profiler is not None:
        profiler.enable()
    t0, cpu0 = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        for start in range(0, len(work), batch):
            chunk = work[start : start + batch]
            ids = []
            for kind, raw in chunk:
                current[0] = kind
                message, _ = receive(raw, transport="bench")
                ids.append(message.pk)
            # A batch's statements belong to no one kind of message.
            if len(ids) > 1:
                current[0] = "batch"
            process_batch(ids)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{profile_to}.{os.getpid()}")
    print(
        json.dumps(
            {
                "n": len(work),
                "seconds": time.perf_counter() - t0,
                "cpu": time.process_time() - cpu0,
                "queries": dict(queries),
                "kinds": dict(kinds),
            }
        )
    )


def pipeline(
    paths: list[Path],
    manifest: list[dict],
    workers: int,
    env: dict[str, str],
    tmp: str,
    batch: int,
) -> list[dict]:
    shards: list[list[tuple[str, Path]]] = [[] for _ in range(workers)]
    for entry, path in zip(manifest, paths, strict=True):
        shards[entry["root"] % workers].append((entry["kind"], path))
    # Every worker has imported Django and read its messages before the clock starts.
    start_at = time.time() + 5.0
    procs = []
    for i, shard in enumerate(shards):
        list_file = Path(tmp) / f"shard{i}.txt"
        list_file.write_text("\n".join(f"{kind} {path}" for kind, path in shard))
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "--worker", str(list_file), str(start_at)]
                + ["--batch", str(batch)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            for other in procs:
                other.kill()
            raise SystemExit(f"a worker took over {WORKER_TIMEOUT} s") from None
        if proc.returncode:
            raise SystemExit(f"worker failed ({proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def blob_counts(env: dict[str, str]) -> str:
    script = (
        "import django, json; django.setup()\n"
        "from django.db.models import Count, Sum\n"
        "from helpline.models import Blob\n"
        "out = Blob.objects.filter(data__isnull=True).aggregate(n=Count('id'), "
        "b=Sum('size'))\n"
        "print(json.dumps({'out': out, 'rows': Blob.objects.filter("
        "data__isnull=False).count()}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out)
    return (
        f"blobs outside the database: {data['out']['n']} "
        f"({(data['out']['b'] or 0) / 1e6:.1f} MB), in their rows: {data['rows']}"
    )


def check_threading(env: dict[str, str], manifest: list[dict]) -> str:
    script = (
        "import django, json, sys; django.setup()\n"
        "from helpline.models import Article, InboundMessage\n"
        "ids = dict(Article.objects.filter(incoming=True)"
        ".values_list('message_id', 'ticket_id'))\n"
        "st = {s: InboundMessage.objects.filter(status=s).count() "
        "for s in ('processed','rejected','quarantined','received')}\n"
        "print(json.dumps({'ids': ids, 'status': st}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out)
    ids = data["ids"]
    good = total = 0
    for entry in manifest:
        if entry["kind"] != "followup":
            continue
        total += 1
        root = manifest[entry["root"]]["message_id"].strip("<>")
        mine = entry["message_id"].strip("<>")
        good += ids.get(mine) is not None and ids.get(mine) == ids.get(root)
    return f"follow-ups threaded {good}/{total}; statuses {data['status']}"


def pipe_rate(paths: list[Path], env: dict[str, str]) -> float:
    helpline = str(Path(sys.executable).parent / "helpline")
    start = time.perf_counter()
    for path in paths:
        with path.open("rb") as fh:
            subprocess.run(
                [helpline, "postmaster"],
                stdin=fh,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=PIPE_TIMEOUT,
            )
    return len(paths) / (time.perf_counter() - start)


def report(backend: str, workers: int, results: list[dict], floor_ms: float) -> float:
    n = sum(r["n"] for r in results)
    wall = max(r["seconds"] for r in results)
    rate = n / wall
    per_worker_ms = 1000 * sum(r["seconds"] for r in results) / n
    cpu_ms = 1000 * sum(r["cpu"] for r in results) / n
    each = ", ".join(f"{r['seconds']:.1f}" for r in results)
    print(
        f"{backend:8s} pipeline, {workers} workers: {rate:8.0f} msg/s "
        f"(wall {wall:.1f} s; per worker {each} s)"
    )
    print(
        f"{'':8s} per message in a worker: {per_worker_ms:.2f} ms "
        f"({cpu_ms:.2f} ms CPU of the worker process) = "
        f"{per_worker_ms / floor_ms:.1f}x the floor's {floor_ms:.2f} ms"
    )
    queries: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for r in results:
        queries.update(r["queries"])
        kinds.update(r["kinds"])
    per_kind = ", ".join(
        f"{kind} {queries[kind] / count:.1f}" for kind, count in sorted(kinds.items())
    )
    if "batch" in queries:
        per_kind = (
            f"storing {(sum(queries.values()) - queries['batch']) / n:.1f}, "
            f"processing in batches {queries['batch'] / n:.1f}"
        )
    print(
        f"{'':8s} SQL queries per message: {sum(queries.values()) / n:.1f} ({per_kind})"
    )
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="messages in the stream")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (without a database name)",
    )
    ap.add_argument(
        "--database",
        type=database_name,
        default=BENCH_DB,
        help="PostgreSQL database to create, use and drop (default %(default)s; "
        "it is dropped first if it exists)",
    )
    ap.add_argument(
        "--pipe-sample",
        type=int,
        default=50,
        help="messages sent through 'helpline postmaster' (0: skip)",
    )
    ap.add_argument(
        "--batch",
        type=int,
        default=20,
        help="messages per processing transaction (HELPLINE_INBOUND_BATCH; 1: one by one)",
    )
    ap.add_argument(
        "--blob-store",
        default="file",
        help="blob stores to run the pipeline with: file, s3 (SeaweedFS) or both",
    )
    ap.add_argument(
        "--inline-bytes",
        type=int,
        default=None,
        help="HELPLINE_INLINE_BLOB_BYTES for the run (default: the setting's)",
    )
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(args.worker[0], float(args.worker[1]), max(1, args.batch))
        return
    if not 1 <= args.n <= 100_000:
        raise SystemExit("--n: 1 to 100000 messages")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mail"
        subprocess.run(
            [
                sys.executable,
                str(GEN),
                *("--n", str(args.n), "--seed", str(args.seed)),
                *("--out", str(out), "--quiet"),
            ],
            check=True,
        )
        manifest = json.loads(Path(f"{out}.manifest.json").read_text())["messages"]
        paths = [out / m["file"] for m in manifest]
        blobs = [p.read_bytes() for p in paths]
        floor_s = min(floor(blobs) for _ in range(3))
        floor_rate = len(paths) / floor_s
        floor_ms = 1000 * floor_s / len(paths)
        print(
            f"stream: {len(paths)} messages (gen_mail.py --seed {args.seed}): "
            + ", ".join(
                f"{k} {v}" for k, v in Counter(m["kind"] for m in manifest).items()
            )
        )
        print(
            f"floor (stdlib parse, 1 process): {floor_rate:8.0f} msg/s "
            f"({floor_ms:.2f} ms/message)"
        )
        stores = [b for b in args.blob_store.split(",") if b]
        if set(stores) - {"file", "s3"}:
            raise SystemExit("--blob-store: file, s3 or file,s3")
        seaweed = _start_seaweed(tmp) if "s3" in stores else None
        rates: dict[tuple[str, str], float] = {}
        runs = [
            (backend, store)
            for backend in [b for b in args.backends.split(",") if b]
            for store in stores
        ]
        for backend, store in runs:
            data_dir = tempfile.mkdtemp(dir=tmp)
            try:
                env = _env(
                    _fresh_database(backend, data_dir, args.pg, args.database),
                    data_dir,
                )
                if args.inline_bytes is not None:
                    env["HELPLINE_INLINE_BLOB_BYTES"] = str(args.inline_bytes)
                if seaweed is not None and store == "s3":
                    env.update(seaweed.env(prefix=f"{Path(data_dir).name}/"))
                setup_database(env)
                results = pipeline(
                    paths, manifest, args.workers, env, tmp, max(1, args.batch)
                )
                label = backend if len(stores) == 1 else f"{backend}/{store}"
                rate = report(label, args.workers, results, floor_ms)
                rates[(backend, store)] = rate
                print(f"{'':8s} floor / pipeline throughput: {floor_rate / rate:.1f}x")
                print(f"{'':8s} {check_threading(env, manifest)}")
                print(f"{'':8s} {blob_counts(env)}")
                if args.pipe_sample:
                    sample = paths[: args.pipe_sample]
                    data_dir2 = tempfile.mkdtemp(dir=tmp)
                    env2 = _env(
                        _fresh_database(backend, data_dir2, args.pg, args.database),
                        data_dir2,
                    )
                    setup_database(env2)
                    print(
                        f"{backend:8s} helpline postmaster, one process per message: "
                        f"{pipe_rate(sample, env2):.1f} msg/s "
                        f"({len(sample)} messages, one after the other)"
                    )
            finally:
                _drop_database(backend, args.pg, args.database)
        if seaweed is not None:
            seaweed.stop()
        for (backend, store), rate in rates.items():
            base = rates.get((backend, "file"))
            if store != "file" and base:
                print(
                    f"{backend}: blobs in {store} {rate:.0f} msg/s = "
                    f"{rate / base:.2f}x the file system's {base:.0f} msg/s"
                )


def _start_seaweed(tmp: str):  # type: ignore[no-untyped-def]
    """A SeaweedFS for the s3 runs (tests/seaweed.py), data in ``tmp``."""
    sys.path.insert(0, str(ROOT))
    from tests.seaweed import SeaweedServer

    directory = Path(tmp) / "seaweed"
    directory.mkdir()
    server = SeaweedServer(directory)
    server.start()
    return server


if __name__ == "__main__":
    main()
