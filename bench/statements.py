"""Database statements and CPU per agent action, for the sizing table of docs/scaling.md.

    .venv/bin/python bench/statements.py [--database hl_statements] [--requests 20] [--reuse]
    .venv/bin/python bench/statements.py --pair

The database is bench/pages.py's (PostgreSQL, ``helpline bench seed --tickets 2000``
and the agent ``bench``; ``--reuse`` keeps one already prepared).  In this process,
through the Django test client against the real views, each action runs
``--requests`` times; the statements of its last run are counted
(``CaptureQueriesContext``: every statement Django sends, savepoints included), split
into reads and the rest, with the INSERTs into the history table, and the median CPU
time of the web process (``time.process_time``: the view, the templates and the
database driver, not PostgreSQL) is given.

With ``--pair`` the database is on a primary and streaming replica of its own
(tests/pg_pair.py: Debian's ``initdb``, ``pg_basebackup``) with
``HELPLINE_DATABASE_REPLICA_URL`` set, and the statements served by the replica are
counted too: what a replica takes off the primary.  The lag check (two statements,
one on each, every ``HELPLINE_REPLICA_CHECK_SECONDS`` per process) is left out.

Actions: dashboard, queue view (first page of 25), zoom (2 articles), search (a
common word), API list (GET /api/v1/tickets, 25 rows), note (POST, an internal note)
and reply (POST, an e-mail answer; the mail is queued, not sent: the job queue is
not the database).  A POST is counted without the page it redirects to.
Benchmarks are not tests: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from pages import TICKETS, heavy_tickets, prepare, web_ready
from scale import ROOT, database_url, environment


def actions(client: Any, small: str, queue_id: int) -> dict[str, Callable[[], Any]]:
    def get(url: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code}")
            return response

        return call

    def post(url: str, data: dict[str, str]) -> Callable[[], Any]:
        def call() -> Any:
            response = client.post(url, data)
            if response.status_code != 302:  # done: back to the zoom
                raise RuntimeError(f"POST {url}: {response.status_code}")
            return response

        return call

    return {
        "dashboard": get("/"),
        "queue view": get(f"/queues/{queue_id}/"),
        "zoom (2 articles)": get(f"/ticket/{small}/"),
        "search (common word)": get("/search/?q=photo"),
        "API list (25 tickets)": get("/api/v1/tickets?limit=25"),
        "note": post(
            f"/ticket/{small}/note/", {"subject": "Note", "text": "Called back."}
        ),
        "reply": post(
            f"/ticket/{small}/reply/",
            {
                "to": "someone@example.net",
                "subject": "Re: your question",
                "body": "Hello,\n\nhere is the answer.\n",
                "next_state": "open",
                "pending_until": "",
            },
        ),
    }


def measure(call: Callable[[], Any], requests: int) -> dict[str, float]:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm-up: template caches, plans, the session
        call()
    cpu = []
    for _ in range(requests - 1):
        start = time.process_time()
        call()
        cpu.append((time.process_time() - start) * 1000)
    with ExitStack() as stack:
        captured = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in connections
        }
        call()
    texts = [q["sql"].lstrip() for c in captured.values() for q in c.captured_queries]
    sqls = [text.split(None, 1)[0].upper() for text in texts]
    reads = sum(1 for verb in sqls if verb == "SELECT")
    history = sum(
        1 for text in texts if text.startswith('INSERT INTO "helpline_history"')
    )
    replica = len(captured["replica"].captured_queries) if "replica" in captured else 0
    return {
        "statements": len(sqls),
        "reads": reads,
        "replica": replica,
        "history": history,
        "cpu": statistics.median(cpu),
    }


def on_a_pair() -> Any:
    """A primary and replica of their own, seeded; the environment points at them."""
    sys.path.insert(0, str(ROOT))
    from tests.pg_pair import PgPair

    pair = PgPair().start()
    pair.sql("primary", "CREATE DATABASE hl_statements")
    env = environment(pair.url("primary", "hl_statements"))
    helpline = [sys.executable, "-m", "helpline.cli"]
    subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
    seed = [*helpline, "bench", "seed", "--tickets", str(TICKETS)]
    subprocess.run(seed, env=env, check=True)
    pair.wait_replayed()
    os.environ.update(env)
    os.environ["HELPLINE_DATABASE_REPLICA_URL"] = pair.url("replica", "hl_statements")
    os.environ["HELPLINE_REPLICA_CHECK_SECONDS"] = "3600"
    os.environ["HELPLINE_REPLICA_MAX_LAG_SECONDS"] = "3600"
    return pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="hl_statements")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--pair", action="store_true", help="primary and replica")
    args = parser.parse_args()
    if args.pair:
        pair = on_a_pair()
        try:
            run(args.requests, pair)
        finally:
            pair.stop()
        return
    prepare(args.database, reuse=args.reuse)
    os.environ.update(environment(database_url(args.database)))
    run(args.requests)


def run(requests: int, pair: Any = None) -> None:
    import django

    django.setup()
    web_ready()
    from django.db.models import Count
    from django.test import Client

    from helpline.actions.access import queues_with
    from helpline.actions.admin import get_agent
    from helpline.models import Ticket

    agent = get_agent("bench")
    small, _big = heavy_tickets(agent)
    if pair is not None:
        pair.wait_replayed()  # the replica has the tickets just made
    client = Client()
    client.force_login(agent)
    busiest = (
        Ticket.objects.filter(queue__in=queues_with(agent))
        .open()
        .values("queue_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    queue_id = busiest["queue_id"] if busiest else queues_with(agent).first().pk
    print(f"{TICKETS} tickets, {requests} requests per action")
    head = (
        f"{'action':<24}{'statements':>11}{'reads':>7}{'writes etc':>11}"
        f"{'on replica':>11}{'history':>8}{'CPU ms':>8}"
    )
    print(head + "\n" + "-" * len(head))
    for label, call in actions(client, small, queue_id).items():
        r = measure(call, requests)
        print(
            f"{label:<24}{r['statements']:>11.0f}{r['reads']:>7.0f}"
            f"{r['statements'] - r['reads']:>11.0f}{r['replica']:>11.0f}"
            f"{r['history']:>8.0f}{r['cpu']:>8.1f}"
        )


if __name__ == "__main__":
    main()
