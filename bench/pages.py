"""CPU cost of the hot pages: queue view, zoom (small and heavy ticket), search.

    .venv/bin/python bench/pages.py [--database hl_pages] [--requests 40] [--reuse]
    .venv/bin/python bench/pages.py --reuse --profile "zoom: 400 articles"

It (re)creates a PostgreSQL database of its own (``--database``; ``--reuse`` keeps
one already prepared), seeds it with ``helpline bench seed --tickets 2000`` and adds,
through actions, as agent ``bench``, a ticket of 2 articles and one of 400 articles of
which 40 are HTML mails with an inline image.  Then, in this process, through the
Django test client against the real views, it measures each page as the median CPU
time (``time.process_time``) and wall time of ``--requests`` calls, and the response
size:

- baseline: an attachment of the small ticket (an authenticated request through the
  same middleware, session and access check, without a template: the floor);
- queue view: GET /queues/<id>/ on the agent's busiest queue (first page of 25);
- zoom: 2 articles, and 400 articles (40 inline images);
- zoom, all articles: the 400-article ticket with ``?all=1`` (every body rendered);
- search: GET /search/?q=... for a common word of the seeded corpus.

Every figure is printed with its ratio to the baseline measured in the same run.
``--profile PAGE`` prints the cProfile of that page's calls instead (top functions by
cumulative and own time).  Benchmarks are not tests: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

# The database and environment of the benchmarks (run as a script: bench/ is on the
# path).
from scale import ADMIN_URL, ROOT, database_url, environment

BIG_TITLE = "bench pages: 400 articles"
SMALL_TITLE = "bench pages: 2 articles"
TICKETS = 2000


def prepare(name: str, *, reuse: bool) -> None:
    """A seeded database; the two benchmark tickets are added after django.setup."""
    import psycopg

    env = environment(database_url(name))
    helpline = [sys.executable, "-m", "helpline.cli"]
    if reuse:
        subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
        return
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    subprocess.run([*helpline, "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [*helpline, "bench", "seed", "--tickets", str(TICKETS)], env=env, check=True
    )


def png() -> bytes:
    sys.path.insert(0, str(ROOT))
    from tests.web import png as make_png

    return make_png(40, 30)


def heavy_tickets(agent: Any) -> tuple[str, str]:
    """The numbers of the 2-article and the 400-article ticket (made once)."""
    from helpline.actions.access import queues_with
    from helpline.actions.articles import NewArticle, NewAttachment, add_article
    from helpline.actions.tickets import do_create_ticket
    from helpline.models import ArticleChannel, SenderType, Ticket

    def make(title: str, count: int) -> str:
        found = Ticket.objects.filter(title=title).first()
        if found is not None:
            return found.number
        queue = queues_with(agent).order_by("name").first()
        customer = "someone@example.net"

        def mail(k: int) -> NewArticle:
            body = f"Message {k}.\n\n" + "A line of the message body. " * 40
            html, files = "", []
            if k % 10 == 0:  # every tenth: an HTML mail with an inline image
                cid = f"img{k}@example.net"
                html = f"<p>Message {k}</p><img src='cid:{cid}' alt='x'><p>{body}</p>"
                files = [NewAttachment("i.png", "image/png", png(), cid, inline=True)]
            return NewArticle(
                channel=ArticleChannel.EMAIL,
                sender_type=SenderType.CUSTOMER,
                subject=f"{title} ({k})",
                body_text=body,
                body_html=html,
                from_addr=customer,
                to_addr="info@example.org",
                incoming=True,
                attachments=files,
            )

        ticket, _ = do_create_ticket(
            None, queue=queue, title=title, customer_email=customer, article=mail(0)
        )
        for k in range(1, count):
            add_article(agent, ticket.pk, mail(k))
        return ticket.number

    return make(SMALL_TITLE, 2), make(BIG_TITLE, 400)


def web_ready() -> None:
    """As bench/scale.py: the web interface's settings, if settings.py lacks them."""
    sys.path.insert(0, str(ROOT))
    from bench.scale import web_ready as ready

    ready()


def pages(requests: int) -> tuple[dict[str, list[Callable[[], Any]]], Any]:
    import django

    django.setup()
    web_ready()
    from django.db.models import Count
    from django.test import Client

    from helpline.actions.access import queues_with
    from helpline.actions.admin import get_agent
    from helpline.models import Ticket

    agent = get_agent("bench")
    small, big = heavy_tickets(agent)
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

    def get(url: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code}")
            return response

        return call

    attachment = (
        Ticket.objects.get(number=small).articles.filter(attachments__isnull=False)
    ).values_list("attachments", flat=True)
    urls = {
        "baseline (attachment)": f"/ticket/{small}/attachment/{attachment[0]}/",
        "queue view": f"/queues/{queue_id}/",
        "zoom: 2 articles": f"/ticket/{small}/",
        "zoom: 400 articles": f"/ticket/{big}/",
        "zoom: 400 articles, all": f"/ticket/{big}/?all=1",
        "search: common word": "/search/?q=photo",
    }
    return {label: [get(url)] * requests for label, url in urls.items()}, client


def timed(calls: list[Callable[[], Any]]) -> dict[str, float]:
    size = 0
    for call in calls[:3]:  # warm-up: template caches, plans
        size = len(call().content)
    cpu, wall = [], []
    for call in calls:
        c, w = time.process_time(), time.perf_counter()
        call()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return {
        "cpu": statistics.median(cpu),
        "wall": statistics.median(wall),
        "kb": size / 1000,
    }


def report(results: dict[str, dict[str, float]]) -> str:
    base = results["baseline (attachment)"]
    head = f"{'page':<28}{'CPU ms':>9}{'x base':>8}{'wall ms':>9}{'x base':>8}{'kB':>8}"
    lines = [head, "-" * len(head)]
    for label, r in results.items():
        lines.append(
            f"{label:<28}{r['cpu']:>9.1f}{r['cpu'] / base['cpu']:>8.1f}"
            f"{r['wall']:>9.1f}{r['wall'] / base['wall']:>8.1f}{r['kb']:>8.0f}"
        )
    small, big = results.get("zoom: 2 articles"), results.get("zoom: 400 articles")
    if small and big:
        lines.append(
            f"\nzoom 400 / zoom 2: CPU {big['cpu'] / small['cpu']:.2f}x, "
            f"wall {big['wall'] / small['wall']:.2f}x"
        )
    return "\n".join(lines)


def profile(calls: list[Callable[[], Any]]) -> str:
    for call in calls[:3]:
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    for call in calls:
        call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="hl_pages")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--profile", metavar="PAGE")
    args = parser.parse_args()
    prepare(args.database, reuse=args.reuse)
    os.environ.update(environment(database_url(args.database)))
    calls, _client = pages(args.requests)
    if args.profile:
        print(profile(calls[args.profile]))
        return
    print(report({label: timed(c) for label, c in calls.items()}))


if __name__ == "__main__":
    main()
