"""What cutting Chinese, Japanese, Korean and Thai into pairs costs the index builder.

    PYTHONPATH=src .venv/bin/python bench/search_scripts.py [--tickets 2000] [--runs 7]

Builds the index entries of ``--tickets`` documents of the benchmark's corpus
(``helpline bench seed``'s text generator, no database) in this process, both ways
in the same run, alternating (each first in turn), ``--runs`` times:

- before: words split as before scripts.py (``[^\\W_]+`` of the folded text), and
  the SQLite rows without ``index_text``;
- after: the code as it is (``query.words``, ``scripts.index_text``).

For Latin-only mail (the languages en, de, fr, pl, es, it) the two must take the
same time: the only work added is a scan for a character of those scripts in text
that is not plain ASCII.  For CJK mail (``--cjk``) it shows what the pairs cost.
It prints milliseconds per 1,000 tickets for the PostgreSQL document
(``postgres.tsvector_literal``), the SQLite row (``SqliteFts`` columns) alone and
inserted into an FTS5 table in memory, the best run of each way, and the ratio
after/before of the best runs and the median of the runs' ratios.  Benchmarks are not tests: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cjk", type=float, default=0.0, help="share of CJK tickets")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    import django

    django.setup()
    from helpline.management.commands.bench import Corpus, cjk_language
    from helpline.search import postgres, query, scripts
    from helpline.search.base import ArticleText, TicketDocument
    from helpline.search.sqlite_fts import SEPARATOR

    rng = random.Random(1)  # noqa: S311 - reproducible data
    corpus = Corpus(random.Random(1))  # noqa: S311
    latin = ("en", "de", "fr", "pl", "es", "it")
    docs = []
    for n in range(args.tickets):
        lang = rng.choice(latin)
        if args.cjk and rng.random() < args.cjk:
            lang = cjk_language(rng)
        title = corpus.words(rng, lang, rng.randint(3, 7))
        doc = TicketDocument(ticket_id=n, title=title)
        for _ in range(rng.randint(1, 4)):
            doc.articles.append(
                ArticleText(
                    subject="Re: " + title,
                    body=corpus.words(rng, lang, rng.randint(15, 110)),
                    sender=f"customer{n}@example.net",
                    recipients="info@example.org",
                )
            )
        docs.append(doc)

    word = re.compile(r"[^\W_]+")

    def old_words(text: str) -> list[str]:
        return word.findall(query.fold(text))

    def rows(cut: Callable[[str], str]) -> list[tuple[object, ...]]:
        return [
            (
                doc.ticket_id,
                cut(doc.title),
                cut(doc.joined("subject", SEPARATOR)),
                cut(doc.joined("body", SEPARATOR)),
                cut(doc.joined("sender", SEPARATOR)),
                cut(doc.joined("recipients", SEPARATOR)),
            )
            for doc in docs
        ]

    fts = sqlite3.connect(":memory:")
    fts.execute(
        "CREATE VIRTUAL TABLE t USING fts5(id, title, subject, body, sender, recipients, "
        "tokenize='unicode61 remove_diacritics 2')"
    )

    def indexed(cut: Callable[[str], str]) -> None:
        with fts:
            fts.execute("DELETE FROM t")
            fts.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", rows(cut))

    def postgres_before() -> None:
        postgres.words = old_words  # type: ignore[assignment]
        try:
            for doc in docs:
                postgres.tsvector_literal(doc)
        finally:
            postgres.words = query.words

    def postgres_after() -> None:
        for doc in docs:
            postgres.tsvector_literal(doc)

    cases: dict[str, dict[str, Callable[[], None]]] = {
        "postgres document": {"before": postgres_before, "after": postgres_after},
        "sqlite row": {
            "before": lambda: rows(lambda text: text),
            "after": lambda: rows(scripts.index_text),
        },
        # The row and its insertion into an FTS5 table in memory: what indexing
        # a ticket costs on SQLite, less the disk.
        "sqlite indexed": {
            "before": lambda: indexed(lambda text: text),
            "after": lambda: indexed(scripts.index_text),
        },
    }
    kind = f"{args.cjk:.0%} CJK" if args.cjk else "Latin only"
    print(f"{args.tickets} tickets ({kind}), {args.runs} runs, ms per 1,000 tickets")
    for name, ways in cases.items():
        for run in ways.values():  # warm-up: the FTS5 table holds rows from now on
            run()
        spent: dict[str, list[float]] = {way: [] for way in ways}
        for n in range(args.runs):
            # Each first in turn, after a collection: neither inherits the other's
            # garbage in every run.
            order = list(ways.items())
            for way, run in order if n % 2 else reversed(order):
                gc.collect()
                start = time.perf_counter()
                run()
                took = time.perf_counter() - start
                spent[way].append(took * 1000 / args.tickets * 1000)
        best = {way: min(times) for way, times in spent.items()}
        # The machine may be shared: the median of the runs' own ratios is the
        # steadier figure when the best ones fall in quieter moments.
        ratios = [a / b for a, b in zip(spent["after"], spent["before"], strict=True)]
        print(
            f"{name:16} before {best['before']:7.1f}  after {best['after']:7.1f}"
            f"  after/before: best {best['after'] / best['before']:.3f},"
            f" median of runs {statistics.median(ratios):.3f}"
        )


if __name__ == "__main__":
    main()
