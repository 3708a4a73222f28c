"""Queue view, zoom and search at 100,000 and 1,000,000 tickets on PostgreSQL.

    .venv/bin/python bench/scale.py --sizes 100000,1000000 [--requests 60]
                                    [--cjk 0.1] [--prefix helpline_bench]
                                    [--database 1000000=hl_bench_1m_cjk]

For each size it creates a database of its own (helpline_bench_<size>, dropped and
recreated; --reuse keeps one that is already seeded), seeds it with
``helpline bench seed`` (timed), then, in a fresh process on that database, measures
each operation as the median and 95th percentile of --requests calls, as agent
``bench`` (rw on two of the five groups):

- baseline: a ticket fetched by primary key (the noise floor of this machine, now);
- queue view: GET /queues/<id>/, open tickets of a queue, first page sorted as OTRS
  (unlocked first, priority desc, oldest first), with the queue tree beside it;
- zoom: GET /ticket/<number>/ (ticket, articles, attachments, history);
- search: GET /search/?q=... for a needle (a word in 50 tickets at any size: the
  cost of the index itself), a rare word (~0.5% of tickets: its matches grow with
  the data), a common word (in ~40% of tickets), a phrase, and a filtered search
  (queue:X state:open word);

each through the Django test client against the real views, and the same work
without the HTTP layer (``core``: the querysets and ``search_tickets`` the views
call).  With ``--cjk SHARE`` that share of the tickets is seeded in Chinese, Japanese
or Korean (``helpline bench seed --cjk``; the database is named
``<prefix>_<size>_cjk<percent>``) and three searches more are timed: a CJK word of
the seed's real words (one pair of characters, in a few percent of the tickets), a
rare one (a made-up word of the tail) and a longer word (a phrase of pairs).
``--prefix`` names the databases (another one than a colleague's on a shared
server); ``--database SIZE=NAME`` names one size's database outright (seeded before,
by hand or by another run: with ``--reuse`` it is measured as it is).  It prints every figure with its ratio to the baseline measured in the same
run, and how the figures grow from the smallest size to the largest.  Benchmarks
are not tests: nothing here runs in ``make test``.
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
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# --- orchestration (the parent process) ------------------------------------------------
def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def environment(db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "HELPLINE_DATABASE_URL": db_url,
        "HELPLINE_DATA_DIR": str(ROOT / "var" / "bench"),
        "HELPLINE_LOG_LEVEL": "WARNING",
        "HELPLINE_ALLOWED_HOSTS": "testserver,127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
    }


def seeded_count(name: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(
            database_url(name).replace("postgres://", "postgresql://")
        ) as c:
            row = c.execute("SELECT count(*) FROM helpline_ticket").fetchone()
            return int(row[0]) if row else None
    except psycopg.Error:
        return None


def prepare(
    size: int,
    *,
    reuse: bool,
    workers: int,
    cjk: float = 0.0,
    prefix: str = "",
    name: str | None = None,
) -> dict[str, Any]:
    """A database with ``size`` tickets; the seconds it took to seed."""
    import psycopg

    if name is None:
        name = f"{prefix or 'helpline_bench'}_{size}"
        if cjk:
            name += f"_cjk{round(cjk * 100)}"
    env = environment(database_url(name))
    helpline = [sys.executable, "-m", "helpline.cli"]
    if reuse and seeded_count(name) == size:
        # Brought up to this commit's schema (a no-op when it is).
        subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
        return {"database": name, "seed_seconds": None}
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
    started = time.perf_counter()
    seed = ["bench", "seed", "--tickets", str(size), "--workers", str(workers)]
    if cjk:
        seed += ["--cjk", str(cjk)]
    subprocess.run([*helpline, *seed], env=env, check=True)
    return {"database": name, "seed_seconds": time.perf_counter() - started}


def measure_in_child(name: str, requests: int, cjk: float = 0.0) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", "--requests", str(requests)]
    if cjk:
        command += ["--cjk", str(cjk)]
    out = subprocess.run(
        command,
        env=environment(database_url(name)),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(results: dict[int, dict[str, Any]]) -> str:
    sizes = sorted(results)
    lines = []
    for size in sizes:
        r = results[size]
        seeded = r["seed_seconds"]
        lines.append(
            f"{size:,} tickets (database {r['database']}): "
            + (f"seeded in {seeded / 60:.1f} min" if seeded else "reused")
            + f"; agent sees {r['visible']:,} tickets, {r['visible_open']:,} open"
        )
    lines.append("")
    width = 38
    head = f"{'operation':<{width}}" + "".join(
        f"{f'{s:,}: median / p95 ms':>30}{'x base':>8}" for s in sizes
    )
    if len(sizes) > 1:
        head += f"{'growth p95':>12}{'growth x':>10}"
    lines += [head, "-" * len(head)]
    first, last = results[sizes[0]], results[sizes[-1]]
    labels = list(dict.fromkeys(op for s in sizes for op in results[s]["ops"]))
    for op in labels:
        row = f"{op:<{width}}"
        for size in sizes:
            m = results[size]["ops"].get(op)
            base = results[size]["ops"]["baseline (pk lookup)"]["median"]
            if m is None:
                row += f"{'n/a':>30}{'':>8}"
            else:
                ratio = m["median"] / base
                row += f"{m['median']:>19.2f} /{m['p95']:>9.2f}{ratio:>8.0f}"
        a, b = first["ops"].get(op), last["ops"].get(op)
        if len(sizes) > 1 and a and b:
            ratio_a = a["median"] / first["ops"]["baseline (pk lookup)"]["median"]
            ratio_b = b["median"] / last["ops"]["baseline (pk lookup)"]["median"]
            row += f"{b['p95'] / a['p95']:>11.2f}x{ratio_b / ratio_a:>9.2f}x"
        lines.append(row)
    for size in sizes:
        for op, reason in results[size].get("skipped", {}).items():
            lines.append(f"not measured at {size:,}: {op}: {reason}")
    lines.append("")
    for size in sizes:
        lines.append(f"matches at {size:,}: " + json.dumps(results[size]["matches"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--cjk", type=float, default=0.0, metavar="SHARE")
    parser.add_argument("--prefix", default="helpline_bench", metavar="NAME")
    parser.add_argument(
        "--database",
        action="append",
        default=[],
        metavar="SIZE=NAME",
        help="The database of one size (instead of <prefix>_<size>).",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", metavar="FILE")
    parser.add_argument(
        "--report", metavar="FILE", help="Print the report of a saved --json-out."
    )
    args = parser.parse_args()
    if args.report:
        saved = json.loads(Path(args.report).read_text())
        print(report({int(size): r for size, r in saved.items()}))
        return
    if args.measure:
        print(json.dumps(measure(args.requests, cjk=bool(args.cjk))))
        return
    names = {int(size): name for size, name in (d.split("=") for d in args.database)}
    results = {}
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"== {size:,} tickets", file=sys.stderr, flush=True)
        info = prepare(
            size,
            reuse=args.reuse,
            workers=args.workers,
            cjk=args.cjk,
            prefix=args.prefix,
            name=names.get(size),
        )
        results[size] = {
            **info,
            **measure_in_child(info["database"], args.requests, args.cjk),
        }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    print(report(results))


# --- measuring (a child process on one database) ---------------------------------------
def timed(calls: list[Callable[[], object]]) -> dict[str, float]:
    for call in calls[:3]:  # warm-up: plans, caches
        call()
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "median": statistics.median(times),
        "p95": statistics.quantiles(times, n=20)[18],
    }


class _SettingsOverride:
    """A ``settings`` object as pytest-django gives tests: attributes set on it are
    applied with ``override_settings``."""

    def __getattr__(self, name: str) -> Any:
        from django.conf import settings

        return getattr(settings, name)

    def __setattr__(self, name: str, value: Any) -> None:
        from django.test.utils import override_settings

        override_settings(**{name: value}).enable()


def web_ready() -> None:
    """Apply the settings the web interface needs (templates, middleware), as its
    tests do, in case settings.py does not carry them yet; a no-op once it does."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.web import web_settings
    except ImportError:
        return
    web_settings(_SettingsOverride())


def measure(requests: int, *, cjk: bool = False) -> dict[str, Any]:
    import django

    django.setup()
    web_ready()
    from django.test import Client

    from helpline.actions.access import queues_with
    from helpline.actions.admin import get_agent
    from helpline.models import Ticket
    from helpline.search import search_tickets
    from helpline.web import listing

    rng = random.Random(7)  # noqa: S311
    agent = get_agent("bench")
    client = Client()
    client.force_login(agent)
    visible = Ticket.objects.visible_to(agent)
    words = query_words(cjk=cjk)
    queues = list(queues_with(agent).order_by("name"))
    open_by_queue = dict(
        visible.open()
        .filter(locked=False)
        .order_by()
        .values_list("queue_id")
        .annotate(n=_count())
    )
    busy = [q for q in queues if open_by_queue.get(q.pk, 0) >= 25] or queues
    top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    zoomed = list(
        visible.filter(
            pk__in=[rng.randrange(1, top) for _ in range(requests * 20)]
        ).values_list("number", flat=True)[:requests]
    )

    def get(url: str) -> Callable[[], object]:
        def call() -> object:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code}")
            return response

        return call

    skipped: dict[str, str] = {}

    def measured(label: str, calls: list[Callable[[], object]]) -> None:
        """Time ``calls``; a view that fails (the web UI is being written) is noted."""
        try:
            ops[label] = timed(calls)
        except Exception as exc:
            skipped[label] = f"{type(exc).__name__}: {str(exc)[:120]}"

    def core_queue(queue: Any) -> Callable[[], object]:
        # As the view: a readable queue's tickets are all visible (no OR to test).
        qs = Ticket.objects.filter(queue=queue).open().order_by(*listing.QUEUE_ORDER)
        return lambda: list(listing.list_rows(qs)[:25])

    def core_zoom(number: str) -> Callable[[], object]:
        def call() -> object:
            from helpline.actions.access import access_ticket

            t = access_ticket(agent, number=number)
            return (
                list(t.articles.prefetch_related("attachments").order_by("created")),
                list(t.history.select_related("actor").order_by("created")),
            )

        return call

    def search(q: str) -> Callable[[], object]:
        return lambda: search_tickets(agent, q)

    from urllib.parse import quote

    def searches(queries: list[str]) -> tuple[list[Any], list[Any]]:
        picked = [queries[i % len(queries)] for i in range(requests)]
        return (
            [get("/search/?q=" + quote(q)) for q in picked],
            [search(q) for q in picked],
        )

    pk_ids = [rng.randrange(1, top) for _ in range(requests)]
    ops: dict[str, dict[str, float]] = {
        "baseline (pk lookup)": timed(
            [lambda pk=pk: Ticket.objects.filter(pk=pk).first() for pk in pk_ids]
        )
    }
    picked_queues = [busy[i % len(busy)] for i in range(requests)]
    measured("queue view", [get(f"/queues/{q.pk}/") for q in picked_queues])
    measured("queue view (core)", [core_queue(q) for q in picked_queues])
    measured("zoom", [get(f"/ticket/{n}/") for n in zoomed])
    measured("zoom (core)", [core_zoom(n) for n in zoomed])
    filtered = [f"queue:{q.name} state:open {words['common'][0]}" for q in busy[:10]]
    kinds = {
        "search: needle (50 tickets)": words["needles"],
        "search: rare word": words["rare"],
        "search: common word": words["common"],
        "search: phrase": [f'"{p}"' for p in words["phrases"]],
        "search: filtered": filtered,
    }
    if cjk:
        kinds["search: CJK word"] = words["cjk"]
        kinds["search: CJK rare word"] = words["cjk_rare"]
        kinds["search: CJK longer word"] = words["cjk_long"]
    matches = {}
    for label, queries in kinds.items():
        web, core = searches(queries)
        measured(label, web)
        measured(label + " (core)", core)
        found = [search_tickets(agent, q) for q in queries[:5]]
        matches[label] = [f"{r.total}{'+' if r.total_capped else ''}" for r in found]
    return {
        "ops": ops,
        "skipped": skipped,
        "matches": matches,
        "visible": visible.count(),
        "visible_open": visible.open().count(),
    }


def query_words(*, cjk: bool = False) -> dict[str, list[str]]:
    """Words of the seeded corpus: needles (in 50 tickets at any size), rare ones
    (~0.5% of tickets), common ones, and the phrases; with ``cjk``, words of the
    Chinese, Japanese and Korean tickets too."""
    from helpline.management.commands.bench import COLLOCATIONS, NEEDLES, Corpus

    corpus = Corpus(random.Random(1))  # noqa: S311 - the seed's vocabulary
    english = corpus.vocab["en"][0]
    words = {
        "needles": [f"{NEEDLES}{k}" for k in range(10)],
        "rare": english[2000:2010],
        "common": ["photo", "licence", "permission", "copyright", "commons"],
        "phrases": COLLOCATIONS,
    }
    if cjk:
        tails = [corpus.vocab[lang][0][2000:2004] for lang in ("zh", "ja", "ko")]
        words["cjk"] = ["照片", "写真", "사진", "許可", "授权"]
        words["cjk_rare"] = [w for tail in zip(*tails, strict=True) for w in tail]
        words["cjk_long"] = [
            "所有者",
            "ライセンス",
            "감사합니다",
            "维基百科",
            "アップロード",
        ]
    return words


def _count() -> Any:
    from django.db.models import Count

    return Count("id")


if __name__ == "__main__":
    main()
