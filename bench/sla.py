"""Service levels: what business time and escalation cost (docs/service-levels.md).

    .venv/bin/python bench/sla.py                       # the calendar alone
    .venv/bin/python bench/sla.py --database-url postgres://.../helpline_bench_100000

Without a database it times the pure calendar (``sla.calendar``): adding an hour, a
week and half a year of business time, and counting a year of it, in the Berlin
office calendar (Mon-Fri 09:00-17:00, Berlin's holidays).  With a database seeded by
``helpline bench seed`` (its agent "bench"), it gives every queue a service level
(unless one has it already), recomputes the open tickets (tickets per second), and
times the first page of a queue's open tickets in the default order and sorted by
escalation: the query alone, and ``GET /queues/<id>/?sort=escalation``, median and
95th percentile of --requests calls each, and each median as a multiple of a
ticket fetched by primary key in the same run (``x_base``: the machine's noise
floor at that moment).  The database is changed (service levels
set): use a bench database, never a real one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 3),
    }


def calendar_figures(repeat: int) -> dict[str, dict[str, float]]:
    from helpline.sla.calendar import BusinessCalendar, Holidays, parse_hours

    calendar = BusinessCalendar.build(
        time_zone_name="Europe/Berlin",
        hours=parse_hours("mon-fri 09:00-17:00"),
        holidays=Holidays("DE", "BE"),
    )
    start = datetime(2026, 3, 27, 15, tzinfo=UTC)
    calendar.add(start, timedelta(days=400))  # the holiday years computed once
    return {
        "add 1 hour": timed(lambda: calendar.add(start, timedelta(hours=1)), repeat),
        "add 1 week (40 h)": timed(
            lambda: calendar.add(start, timedelta(hours=40)), repeat
        ),
        "add half a year (960 h)": timed(
            lambda: calendar.add(start, timedelta(hours=960)), repeat
        ),
        "between, 1 year": timed(
            lambda: calendar.between(start, start + timedelta(days=365)), repeat
        ),
    }


def database_figures(requests: int) -> dict[str, object]:
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from helpline.actions import escalations, service_levels
    from helpline.actions.access import queues_with
    from helpline.actions.admin import get_agent
    from helpline.actions.service_levels import LevelChange
    from helpline.models import Calendar, Queue, ServiceLevel, Ticket
    from helpline.web import listing

    setup_test_environment()
    if not Calendar.objects.filter(name="bench").exists():
        service_levels.save_calendar(
            None,
            "bench",
            time_zone_name="Europe/Berlin",
            hours="mon-fri 09:00-17:00",
            country="DE",
        )
    if not ServiceLevel.objects.filter(name="bench").exists():
        service_levels.save_service_level(
            None,
            "bench",
            LevelChange(calendar="bench", first_response=480, solution=4800),
        )
    level = ServiceLevel.objects.get(name="bench")
    queue_ids = list(Queue.objects.values_list("pk", flat=True))
    Queue.objects.filter(pk__in=queue_ids).update(service_level=level)
    started = time.perf_counter()
    recomputed = escalations.recompute_queues(queue_ids)
    seconds = time.perf_counter() - started

    agent = get_agent("bench")
    client = Client()
    client.force_login(agent)
    queues = list(queues_with(agent).order_by("name"))
    counts = {
        q: Ticket.objects.filter(queue=q).open().filter(locked=False).count()
        for q in queues
    }
    busy = [q for q in queues if counts[q] >= 25] or queues
    picked = [busy[i % len(busy)] for i in range(requests)]
    escalation = listing.Sorting("escalation", False)

    def core(queue: Queue, by_escalation: bool) -> Callable[[], object]:
        qs = Ticket.objects.filter(queue=queue).open()
        ordered = (
            listing.apply_sorting(qs, escalation, default=listing.QUEUE_ORDER)
            if by_escalation
            else qs.order_by(*listing.QUEUE_ORDER)
        )
        return lambda: list(listing.list_rows(ordered)[:25])

    def each(calls: list[Callable[[], object]]) -> dict[str, float]:
        index = iter(range(len(calls)))
        return timed(lambda: calls[next(index)](), len(calls))

    def get(url: str) -> Callable[[], object]:
        def call() -> object:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code}")
            return response

        return call

    rng = random.Random(7)  # noqa: S311 - reproducible picks
    top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    pks = [rng.randrange(1, top + 1) for _ in range(requests)]
    timings = {
        # The noise floor of the machine now: a ticket by primary key.
        "baseline (pk lookup)": each(
            [lambda pk=pk: Ticket.objects.filter(pk=pk).first() for pk in pks]
        ),
        "queue view (core), default order": each([core(q, False) for q in picked]),
        "queue view (core), by escalation": each([core(q, True) for q in picked]),
        "queue view, default order": each([get(f"/queues/{q.pk}/") for q in picked]),
        "queue view, by escalation": each(
            [get(f"/queues/{q.pk}/?sort=escalation") for q in picked]
        ),
    }
    base = timings["baseline (pk lookup)"]["median_ms"] or 1
    for figures in timings.values():
        figures["x_base"] = round(figures["median_ms"] / base, 1)
    return {
        "tickets": Ticket.objects.count(),
        "open tickets recomputed": recomputed,
        "recompute tickets/s": round(recomputed / seconds) if seconds else None,
        **timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", metavar="URL")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    os.environ.setdefault("HELPLINE_LOG_LEVEL", "WARNING")
    os.environ.setdefault("HELPLINE_ALLOWED_HOSTS", "testserver,127.0.0.1")
    result: dict[str, object] = {"calendar": calendar_figures(args.repeat)}
    if args.database_url:
        os.environ["HELPLINE_DATABASE_URL"] = args.database_url
        os.environ.setdefault("HELPLINE_DATA_DIR", str(ROOT / "var" / "bench"))
        result["database"] = database_figures(args.requests)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
