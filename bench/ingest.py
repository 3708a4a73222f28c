"""Inbound mail throughput: the whole pipeline against the stdlib parse floor.

    .venv/bin/python bench/ingest.py --n 2000 --workers 2 --backends sqlite,postgres

For a stream from ../shared/bench/gen_mail.py it measures, in one run:

- floor: stdlib ``message_from_bytes(policy=default)`` + body + attachments, per message;
- pipeline: store, parse, classify, filter, route, thread and write (tickets, articles,
  attachments, history) — ``receive`` + ``process_inbound`` — with N worker processes
  on a fresh database per backend (each thread of messages stays in one worker so its
  follow-ups arrive after their first message, as in real life);
- pipe: ``helpline postmaster`` with one process per message, as an MTA pipe delivers.

It prints messages/s for each, the ratio of pipeline time to the floor, and how many
follow-ups landed on the right ticket.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GEN = ROOT.parent / "shared" / "bench" / "gen_mail.py"
ADDRESSES = {
    "info": "info@example.org",
    "permissions": "permissions@example.org",
    "press": "press@example.org",
}


def floor(paths: list[Path]) -> float:
    """Seconds for the stdlib parse of every message (body and attachments read)."""
    blobs = [p.read_bytes() for p in paths]
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


def _fresh_database(backend: str, data_dir: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{data_dir}/bench.sqlite3"
    import psycopg

    name = "helpline_bench_ingest"
    with psycopg.connect(
        "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
    ) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return f"postgres://postgres@127.0.0.1:5432/{name}"


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


def worker_main(list_file: str, start_at: float) -> None:
    import django

    django.setup()
    from helpline.mail.intake import receive
    from helpline.mail.postmaster import process_inbound

    paths = [Path(p) for p in Path(list_file).read_text().split()]
    blobs = [p.read_bytes() for p in paths]
    time.sleep(max(0.0, start_at - time.time()))
    t0 = time.perf_counter()
    for raw in blobs:
        message, _ = receive(raw, transport="bench")
        process_inbound(message.pk)
    print(json.dumps({"n": len(blobs), "seconds": time.perf_counter() - t0}))


def pipeline(
    paths: list[Path], manifest: list[dict], workers: int, env: dict[str, str], tmp: str
) -> tuple[float, list[float]]:
    shards: list[list[Path]] = [[] for _ in range(workers)]
    for entry, path in zip(manifest, paths, strict=True):
        shards[entry["root"] % workers].append(path)
    start_at = time.time() + 3.0
    procs = []
    for i, shard in enumerate(shards):
        list_file = Path(tmp) / f"shard{i}.txt"
        list_file.write_text("\n".join(str(p) for p in shard))
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "--worker", str(list_file), str(start_at)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"worker failed ({proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return max(r["seconds"] for r in results), [r["seconds"] for r in results]


def check_threading(env: dict[str, str], manifest: list[dict]) -> str:
    script = (
        "import django, json, sys; django.setup()\n"
        "from helpline.models import Article, InboundMessage\n"
        "ids = dict(Article.objects.filter(incoming=True).values_list('message_id', 'ticket_id'))\n"
        "st = {s: InboundMessage.objects.filter(status=s).count() for s in ('processed','rejected','quarantined','received')}\n"
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
            )
    return len(paths) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--pipe-sample", type=int, default=50)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(args.worker[0], float(args.worker[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mail"
        subprocess.run(
            [
                sys.executable,
                str(GEN),
                "--n",
                str(args.n),
                "--seed",
                str(args.seed),
                "--out",
                str(out),
                "--quiet",
            ],
            check=True,
        )
        manifest = json.loads(Path(f"{out}.manifest.json").read_text())["messages"]
        paths = [out / m["file"] for m in manifest]
        floors = [floor(paths) for _ in range(3)]
        floor_s = statistics.median(floors)
        print(f"stream: {len(paths)} messages (gen_mail.py --seed {args.seed})")
        print(
            f"floor (stdlib parse): {len(paths) / floor_s:8.0f} msg/s "
            f"({1000 * floor_s / len(paths):.2f} ms/message)"
        )
        for backend in [b for b in args.backends.split(",") if b]:
            data_dir = tempfile.mkdtemp(dir=tmp)
            env = _env(_fresh_database(backend, data_dir), data_dir)
            setup_database(env)
            wall, each = pipeline(paths, manifest, args.workers, env, tmp)
            rate = len(paths) / wall
            print(
                f"{backend:8s} pipeline, {args.workers} workers: {rate:8.0f} msg/s "
                f"(wall {wall:.1f} s; per worker {', '.join(f'{s:.1f}' for s in each)} s)"
            )
            cpu_ratio = (sum(each) / len(paths)) / (floor_s / len(paths))
            print(f"{'':8s} ratio to floor (CPU time per message): {cpu_ratio:.1f}x")
            print(f"{'':8s} {check_threading(env, manifest)}")
            sample = paths[: args.pipe_sample]
            data_dir2 = tempfile.mkdtemp(dir=tmp)
            env2 = _env(_fresh_database(backend, data_dir2), data_dir2)
            setup_database(env2)
            print(
                f"{backend:8s} helpline postmaster, one process per message: "
                f"{pipe_rate(sample, env2):.1f} msg/s ({len(sample)} messages)"
            )


if __name__ == "__main__":
    main()
