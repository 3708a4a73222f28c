"""Database statements and CPU per agent action, for the sizing table of docs/scaling.md.

    .venv/bin/python bench/statements.py [--database hl_statements] [--requests 20] [--reuse]

The database is bench/pages.py's (PostgreSQL, ``helpline bench seed --tickets 2000``
and the agent ``bench``; ``--reuse`` keeps one already prepared).  In this process,
through the Django test client against the real views, each action runs
``--requests`` times; the statements of its last run are counted
(``CaptureQueriesContext``: every statement Django sends, savepoints included, split
into reads and the rest) with the median CPU time of the web process
(``time.process_time``, which includes the database driver but not PostgreSQL).

Actions: dashboard, queue view (first page of 25), zoom (2 articles), search (a
common word), API list (GET /api/v1/tickets, 25 rows), note (POST, an internal note)
and reply (POST, an e-mail answer; the mail is queued, not sent: the job queue is
not the database).  Benchmarks are not tests: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from pages import TICKETS, heavy_tickets, prepare, web_ready
from scale import database_url, environment


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
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm-up: template caches, plans, the session
        call()
    cpu = []
    for _ in range(requests - 1):
        start = time.process_time()
        call()
        cpu.append((time.process_time() - start) * 1000)
    with CaptureQueriesContext(connection) as captured:
        call()
    sqls = [
        q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries
    ]
    reads = sum(1 for verb in sqls if verb == "SELECT")
    return {"statements": len(sqls), "reads": reads, "cpu": statistics.median(cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="hl_statements")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    prepare(args.database, reuse=args.reuse)
    os.environ.update(environment(database_url(args.database)))
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
    print(f"{TICKETS} tickets, {args.requests} requests per action")
    head = (
        f"{'action':<24}{'statements':>11}{'reads':>7}{'writes etc':>11}{'CPU ms':>8}"
    )
    print(head + "\n" + "-" * len(head))
    for label, call in actions(client, small, queue_id).items():
        r = measure(call, args.requests)
        print(
            f"{label:<24}{r['statements']:>11.0f}{r['reads']:>7.0f}"
            f"{r['statements'] - r['reads']:>11.0f}{r['cpu']:>8.1f}"
        )


if __name__ == "__main__":
    main()
