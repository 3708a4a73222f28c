"""What the read audit costs the zoom: the page with its read recorded, and without.

    .venv/bin/python bench/read_audit.py                       # SQLite, a fresh file
    .venv/bin/python bench/read_audit.py --database-url postgres://root@127.0.0.1:5432/hl_read_audit
    .venv/bin/python bench/read_audit.py --requests 40 --rounds 5

It makes a database of its own (SQLite under a temporary directory; PostgreSQL: the
database named in the URL, dropped and created again), migrates it, and adds through
actions an agent ``bench`` with rw on a queue and, as bench/pages.py does, a ticket of
2 articles and one of 400 (every tenth an HTML mail with an inline image).  Then, in
this process, through the Django test client and every middleware, it times GET
/ticket/<number>/ for each ticket in ``--rounds`` rounds of ``--requests`` calls with
the audit as it is (the read recorded and written by the request's one INSERT) and
with ``read_audit.record`` replaced by a no-op (the baseline: nothing recorded,
nothing written), alternating which goes first.  It prints the median wall and CPU
time of each (ms), the audit's share of the page (``overhead``: on / off - 1; the
target is under 10%) and the audit INSERTs per page.  The audit cannot be switched
off in Helpline: the no-op exists only here.  Benchmarks are not tests: nothing here
runs in the suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HELPLINE_DATABASE_URL": database_url,
        "HELPLINE_DATA_DIR": str(data_dir),
        "HELPLINE_LOG_LEVEL": "WARNING",
        "HELPLINE_ALLOWED_HOSTS": "testserver,127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
    }


def prepare(database_url: str, data_dir: Path) -> dict[str, str]:
    """A migrated, empty database of the benchmark's own."""
    parts = urlsplit(database_url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        name = parts.path.lstrip("/")
        admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    env = environment(database_url, data_dir)
    helpline = [sys.executable, "-m", "helpline.cli"]
    subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
    return env


def tickets() -> tuple[Any, str, str]:
    """The agent and the numbers of the 2- and the 400-article ticket."""
    from pages import heavy_tickets

    from helpline.actions import admin
    from helpline.models import Permission

    group = admin.create_group("Bench")
    admin.create_queue("Bench", group=group, email="bench@helpline.localhost")
    agent = admin.create_agent("bench", email="bench@example.org")
    admin.grant(group, [Permission.RW], agent=agent)
    small, big = heavy_tickets(agent)
    return agent, small, big


def inserts(call: Callable[[], Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    return sum(
        1
        for q in queries
        if q["sql"].startswith("INSERT") and "helpline_read_event" in q["sql"]
    )


def timed(call: Callable[[], Any]) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def audit_alone(agent: Any, number: str, calls: int) -> float:
    """Median ms of what the audit adds to a page: the scope, the record and its
    INSERT, without the page."""
    from helpline.actions import read_audit
    from helpline.models import Ticket

    ticket = Ticket.objects.get(number=number)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        with read_audit.reading("web", "127.0.0.1 bench"):
            read_audit.record(agent, ticket, "ticket")
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(requests: int, rounds: int) -> list[dict[str, Any]]:
    import django

    django.setup()
    from pages import web_ready

    web_ready()
    from django.test import Client

    from helpline.actions import read_audit

    agent, small, big = tickets()
    client = Client()
    client.force_login(agent)
    real = read_audit.record

    def off(*args: Any, **kwargs: Any) -> None:
        return None

    results = []
    for label, number in (("zoom: 2 articles", small), ("zoom: 400 articles", big)):

        def get(number: str = number) -> Any:
            response = client.get(f"/ticket/{number}/")
            if response.status_code != 200:
                raise RuntimeError(f"zoom {number}: {response.status_code}")
            return response

        for _ in range(5):  # warm-up: templates, plans, the presence row
            get()
        samples: dict[str, tuple[list[float], list[float]]] = {
            "on": ([], []),
            "off": ([], []),
        }
        # Request by request, alternating (pairs in either order): the machine's
        # drift falls on both alike.
        for k in range(rounds * requests):
            for mode in ("off", "on") if k % 2 else ("on", "off"):
                read_audit.record = real if mode == "on" else off  # type: ignore[assignment]
                wall, cpu = timed(get)
                samples[mode][0].append(wall)
                samples[mode][1].append(cpu)
        read_audit.record = off  # type: ignore[assignment]
        inserts_off = inserts(get)
        read_audit.record = real  # type: ignore[assignment]
        inserts_on = inserts(get)
        results.append(
            {
                "page": label,
                "off_wall": statistics.median(samples["off"][0]),
                "on_wall": statistics.median(samples["on"][0]),
                "off_cpu": statistics.median(samples["off"][1]),
                "on_cpu": statistics.median(samples["on"][1]),
                "inserts": (inserts_off, inserts_on),
                "alone": audit_alone(agent, number, rounds * requests),
            }
        )
    return results


def report(vendor: str, results: list[dict[str, Any]]) -> str:
    head = (
        f"{'page (' + vendor + ')':<24}{'off ms':>8}{'on ms':>8}{'on/off':>8}"
        f"{'off CPU':>9}{'on CPU':>8}{'on/off':>8}{'audit ms':>10}{'/ off':>7}"
        f"{'INSERTs':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        alone = r["alone"] / r["off_wall"]
        lines.append(
            f"{r['page']:<24}{r['off_wall']:>8.2f}{r['on_wall']:>8.2f}"
            f"{r['on_wall'] / r['off_wall']:>8.3f}{r['off_cpu']:>9.2f}"
            f"{r['on_cpu']:>8.2f}{r['on_cpu'] / r['off_cpu']:>8.3f}"
            f"{r['alone']:>10.3f}{alone:>7.1%}{r['inserts'][0]:>5} / {r['inserts'][1]}"
        )
    lines.append(
        "\noff: read_audit.record a no-op (nothing recorded, the baseline); on: as "
        "shipped. Medians of every request, on and off alternating.\naudit ms: the "
        "scope, the record and its INSERT alone (median), and its share of the "
        "page's time (target: under 10%). INSERTs into the audit per page, off / on."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="",
        help="A PostgreSQL URL (its database is dropped and made again); "
        "default: SQLite in a temporary directory.",
    )
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="helpline-bench-audit-") as tmp:
        data_dir = Path(tmp)
        url = args.database_url or f"sqlite:///{data_dir / 'helpline.sqlite3'}"
        os.environ.update(prepare(url, data_dir))
        results = measure(args.requests, args.rounds)
        vendor = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(report(vendor, results))


if __name__ == "__main__":
    main()
