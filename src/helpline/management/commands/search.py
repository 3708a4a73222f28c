"""``helpline search``: build and inspect the full-text index.

    helpline search reindex [--batch N] [--fresh]
    helpline search status [--json]

Searching itself is ``helpline ticket search QUERY --as LOGIN``.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from django.core.management.base import CommandParser, OutputWrapper
from django.db import connection

from helpline.management.base import HelplineCommand, positive_int
from helpline.models import CommonWord, Ticket
from helpline.search.base import access_indexed, get_backend
from helpline.search.indexer import DEFAULT_BATCH, reindex_all
from helpline.search.postgres import PostgresFts

# What migration 0008 sets the planner cost of a full-text match to, when it may.
TUNED_COST = 1000


class Progress:
    """A one-line progress bar for long jobs: count, share, rate and time left.

    On a terminal it redraws one line (at most five times a second); into a file or a
    pipe it writes a line every tenth of the way, so logs stay readable.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO | OutputWrapper, total: int, label: str) -> None:
        self.stream = stream
        self.total = max(total, 0)
        self.label = label
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.last_tenth = -1
        isatty = getattr(stream, "isatty", None)
        self.tty = bool(isatty and isatty())

    def update(self, done: int) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self.last_draw < 0.2 and done < self.total:
                return
            self.last_draw = now
            self._write("\r" + self.line(done, now))
        else:
            tenth = done * 10 // self.total if self.total else 10
            if tenth == self.last_tenth:
                return
            self.last_tenth = tenth
            self._write(self.line(done, now) + "\n")
        self.stream.flush()

    def finish(self, done: int) -> None:
        now = time.monotonic()
        if self.tty:
            self._write("\r" + self.line(done, now) + "\n")
        elif done * 10 // max(self.total, 1) != self.last_tenth:
            self._write(self.line(done, now) + "\n")
        self.stream.flush()

    def _write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):  # it would add a line ending
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)

    def line(self, done: int, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        share = done / self.total if self.total else 1.0
        filled = int(self.WIDTH * min(share, 1.0))
        bar = "#" * filled + "." * (self.WIDTH - filled)
        rate = done / elapsed
        left = (self.total - done) / rate if rate > 0 and done < self.total else 0.0
        return (
            f"{self.label} [{bar}] {done:,}/{self.total:,} {share:6.1%} "
            f"{rate:,.0f}/s {_duration(elapsed)} elapsed, {_duration(left)} left"
        )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Command(HelplineCommand):
    help = "Build and inspect the full-text search index."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        reindex = verbs.add_parser(
            "reindex",
            help="Rebuild the index entry of every ticket (safe to repeat).",
            description=(
                "Rebuild the index from the tickets, BATCH tickets per transaction. "
                "On PostgreSQL, first learn the common words from 5,000 tickets "
                "drawn at random (phrases of them become lookups once the rebuild "
                "is done). Searches keep working meanwhile. Entries of tickets that "
                "no longer exist are removed. Progress goes to standard error."
            ),
        )
        reindex.add_argument(
            "--batch",
            type=positive_int,
            default=DEFAULT_BATCH,
            metavar="N",
            help="Tickets per transaction (default %(default)s).",
        )
        reindex.add_argument(
            "--fresh",
            action="store_true",
            help=(
                "Empty the index first and build it in bulk: faster, but searches "
                "find little until it is done."
            ),
        )
        reindex.set_defaults(handler=self.reindex)
        status = verbs.add_parser(
            "status", help="Show the backend and how many tickets are indexed."
        )
        self.add_json_flag(status)
        status.set_defaults(handler=self.status)

    def reindex(self, options: dict[str, Any]) -> None:
        total = Ticket.objects.count()
        backend = get_backend()
        progress = Progress(self.stderr, total, f"reindex ({backend.vendor})")
        done = reindex_all(
            batch=options["batch"], fresh=options["fresh"], progress=progress.update
        )
        progress.finish(done)
        common = CommonWord.objects.count()
        learnt = f" with {common} common words" if common else ""
        self.stdout.write(f"Indexed {done} tickets{learnt}.")

    def status(self, options: dict[str, Any]) -> None:
        backend = get_backend()
        data: dict[str, Any] = {
            "backend": backend.vendor,
            "tickets": Ticket.objects.count(),
            "indexed": backend.indexed_count(),
        }
        advice = ""
        if isinstance(backend, PostgresFts):
            data["match_cost"] = backend.planner_cost()
            data["access_indexed"] = access_indexed(connection)
            common = list(CommonWord.objects.all())
            data["common_words"] = {
                "count": len(common),
                "ready": all(w.ready for w in common),
                "most_common": [w.word for w in common[:10]],
            }
            if data["match_cost"] < TUNED_COST:
                advice = (
                    "\nThe query planner underrates full-text matching here: searches "
                    "get slow past ~100,000 tickets. As a superuser, run:\n"
                    "  ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) "
                    f"COST {TUNED_COST};\n(docs/performance.md says why.)"
                )
        if options["json"]:
            self.emit_json(data)
            return
        lines = [
            f"Backend: {data['backend']}",
            f"Tickets: {data['tickets']}",
            f"Indexed: {data['indexed']}",
        ]
        if "match_cost" in data:
            lines.append(f"Planner cost of a match: {data['match_cost']:g}")
            lines.append(
                "Who may see each ticket: in the index"
                if data["access_indexed"]
                else "Who may see each ticket: not in every entry: run reindex"
            )
            common = data["common_words"]
            if common["count"]:
                state = "ready" if common["ready"] else "not ready: run reindex"
                lines.append(
                    f"Common words: {common['count']} ({state}), "
                    + ", ".join(common["most_common"])
                )
            else:
                lines.append("Common words: none learnt (reindex learns them)")
        self.stdout.write("\n".join(lines) + advice)
