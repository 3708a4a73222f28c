"""How fast ``helpline import znuny`` brings a large Znuny site across (PostgreSQL).

    .venv/bin/python bench/import.py [--tickets 20000,100000] [--articles-per-ticket 4]
                                     [--template DBNAME] [--reuse] [--json-out FILE]

The Znuny-written database (``--template``, made by ../shared/znuny/make-znuny-db.sh)
is scaled up inside a copy of itself: its tickets, articles (with their MIME data,
attachments and raw mail) and history are copied under new ids until there are
``--tickets`` tickets with ``--articles-per-ticket`` articles each on average.  Each
copy's attachments and raw mails get a 15-byte prefix naming the copy, so that no
two are byte-identical (Helpline stores blobs by SHA-256: identical copies would be
stored once and flatter the import).

For each size it measures, in the same run:

- the floor: reading the same rows from the source (the ticket, article, MIME,
  attachment, raw mail and history tables, in batches over a server-side cursor)
  and writing the same volume into a scratch table of an empty PostgreSQL database
  with COPY, streamed;
- the import: ``helpline import znuny`` into a new, migrated Helpline database, in a
  process of its own (wall time, tickets/s, articles/s, and the ratio to the floor);
- the cut-over delta: the same command again after 1% of the tickets changed in the
  source (their change time moved on): what the final, short run before a switch
  costs.

With two sizes or more, the time per ticket at each size shows how the import grows,
and a straight line through the two largest gives the estimate for 1,000,000 tickets
(the import works in fixed-size batches with one set of queries each; nothing it does
per batch grows with the data already imported, so growth is linear unless an index
stops fitting in memory, which the per-size figures would show).  Benchmarks are not
tests: nothing here runs in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import database_url, environment  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
MARKER = "bench/import.py scaled copy"
# Offsets for copied ids: far above anything Znuny wrote in the template.
TICKET_STEP = 1_000_000
ARTICLE_STEP = 1_000_000
HISTORY_STEP = 10_000_000

# The columns each copy rewrites; {k} is the ticket copy, {c} the article copy
# (k * replicas + r).  Everything else is copied as it is.
PREFIX = "encode(convert_to('X-Copy:' || lpad({c}::text, 6, '0') || E'\\r\\n', 'UTF8'), 'base64')"
ARTICLE_TABLES: dict[str, dict[str, str]] = {
    "article": {
        "id": f"id + {{c}}::bigint * {ARTICLE_STEP}",
        "ticket_id": f"ticket_id + {{k}}::bigint * {TICKET_STEP}",
    },
    "article_data_mime": {
        "id": f"id + {{c}}::bigint * {ARTICLE_STEP}",
        "article_id": f"article_id + {{c}}::bigint * {ARTICLE_STEP}",
    },
    "article_data_mime_plain": {
        "id": f"id + {{c}}::bigint * {ARTICLE_STEP}",
        "article_id": f"article_id + {{c}}::bigint * {ARTICLE_STEP}",
        "body": f"CASE WHEN {{c}} = 0 THEN body ELSE {PREFIX} || body END",
    },
    "article_data_mime_attachment": {
        "id": f"id + {{c}}::bigint * {ARTICLE_STEP}",
        "article_id": f"article_id + {{c}}::bigint * {ARTICLE_STEP}",
        "content": f"CASE WHEN {{c}} = 0 THEN content ELSE {PREFIX} || content END",
        "content_size": "CASE WHEN {c} = 0 THEN content_size "
        "ELSE (content_size::bigint + 15)::text END",
    },
}
TICKET_TABLES: dict[str, dict[str, str]] = {
    "ticket": {
        "id": f"id + {{k}}::bigint * {TICKET_STEP}",
        "tn": "tn || lpad({k}::text, 5, '0')",
    },
    "ticket_history": {
        "id": f"id + {{k}}::bigint * {HISTORY_STEP}",
        "ticket_id": f"ticket_id + {{k}}::bigint * {TICKET_STEP}",
        "article_id": f"article_id + {{k}}::bigint * {{replicas}} * {ARTICLE_STEP}",
    },
    "ticket_watcher": {"ticket_id": f"ticket_id + {{k}}::bigint * {TICKET_STEP}"},
}
FLOOR_QUERIES = {
    "ticket": "SELECT * FROM ticket",
    "article": "SELECT * FROM article a JOIN article_data_mime m ON m.article_id = a.id",
    "attachment": "SELECT * FROM article_data_mime_attachment",
    "raw": "SELECT * FROM article_data_mime_plain",
    "history": "SELECT * FROM ticket_history",
}


def psql(dbname: str, *sql: str) -> str:
    args = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
    args += ["-h", "127.0.0.1", "-U", "postgres", "-d", dbname]
    for statement in sql:
        args += ["-c", statement]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def columns(dbname: str, table: str) -> list[str]:
    out = psql(
        dbname,
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_name = '{table}' ORDER BY ordinal_position",
    )
    return out.split()


def default_template() -> str:
    """The never-connected twin of the tests' Znuny database (a template must have no
    connections), built or restored from the cache when missing."""
    from tests.znuny import sources

    return f"{sources.pristine('db').dbname}_tpl"


def scale(template: str, tickets: int, per_ticket: int, *, reuse: bool) -> str:
    """A copy of ``template`` with ``tickets`` tickets; returns its name."""
    name = f"bench_znuny_{tickets}_{per_ticket}"
    found = psql(
        "postgres",
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
        f"WHERE datname = '{name}'",
    ).strip()
    if reuse and found == MARKER:
        print(f"source: reusing {name}", flush=True)
        return name
    started = time.perf_counter()
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER znuny')
    base_tickets = int(psql(name, "SELECT COUNT(*) FROM ticket"))
    base_articles = int(psql(name, "SELECT COUNT(*) FROM article"))
    copies = max(1, -(-tickets // base_tickets))
    replicas = max(1, round(per_ticket * tickets / (base_articles * copies)))
    # Foreign key triggers make the copy slow: off while copying (session_replication_role).
    statements = []
    for table, overrides in TICKET_TABLES.items():
        cols = columns(name, table)
        exprs = ", ".join(
            overrides.get(col, col).format(k="k", c="k", replicas=replicas)
            for col in cols
        )
        statements.append(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {exprs} FROM {table}, "  # noqa: S608
            f"generate_series(1, {copies - 1}) AS s(k)"
        )
    for table, overrides in ARTICLE_TABLES.items():
        cols = columns(name, table)
        exprs = ", ".join(
            overrides.get(col, col).format(k="k", c=f"(k * {replicas} + r)")
            for col in cols
        )
        statements.append(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {exprs} FROM {table}, "  # noqa: S608
            f"generate_series(0, {copies - 1}) AS s(k), "
            f"generate_series(0, {replicas - 1}) AS q(r) WHERE k + r > 0"
        )
    psql(
        name,
        "SET session_replication_role = replica",
        *statements,
        "SET session_replication_role = DEFAULT",
        "VACUUM ANALYZE",
    )
    psql("postgres", f"COMMENT ON DATABASE \"{name}\" IS '{MARKER}'")
    counts = psql(
        name,
        "SELECT (SELECT COUNT(*) FROM ticket) || ' tickets, ' || "
        "(SELECT COUNT(*) FROM article) || ' articles, ' || "
        "(SELECT COUNT(*) FROM article_data_mime_attachment) || ' attachments, ' || "
        "(SELECT COUNT(*) FROM ticket_history) || ' history rows'",
    ).strip()
    print(
        f"source: {name}: {counts} ({copies} copies x {replicas} article copies) "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return name


def floor(source: str) -> dict[str, Any]:
    """Read the rows an import reads; COPY the same volume into a scratch table."""
    import psycopg

    scratch = "bench_import_floor"
    psql("postgres", f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{scratch}"')
    rows = 0
    volume = 0
    started = time.perf_counter()
    with (
        psycopg.connect(f"{PG}/{source}") as src,
        psycopg.connect(f"{PG}/{scratch}") as dst,
    ):
        dst.execute("CREATE TABLE copied (kind text, id bigint, data text)")
        for kind, sql in FLOOR_QUERIES.items():
            with (
                src.cursor(name=f"floor_{kind}") as cur,
                dst.cursor() as out,
                out.copy("COPY copied (kind, id, data) FROM STDIN") as copy,
            ):
                cur.itersize = 2000
                cur.execute(sql)
                for row in cur:
                    text = "\x1f".join("" if v is None else str(v) for v in row)
                    copy.write_row((kind, row[0], text))
                    rows += 1
                    volume += len(text)
        dst.commit()
    seconds = time.perf_counter() - started
    psql("postgres", f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    return {"seconds": round(seconds, 2), "rows": rows, "bytes": volume}


def helpline_db(tickets: int) -> str:
    name = f"helpline_import_{tickets}"
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{name}"')
    env = environment(database_url(name))
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "helpline"), "migrate", "--noinput"],
        env=env,
        check=True,
        capture_output=True,
    )
    return name


def run_import(source: str, target: str) -> dict[str, Any]:
    env = environment(database_url(target))
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "helpline"),
            "import",
            "znuny",
            "--source",
            f"{PG}/{source}",
            "--no-progress",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)["report"]
    return {"seconds": round(seconds, 2), "report": report}


def touch(source: str, share: float) -> int:
    """Move the change time of ``share`` of the tickets on (a cut-over's delta)."""
    out = psql(
        source,
        "WITH t AS (SELECT id FROM ticket WHERE id % "
        f"{max(1, round(1 / share))} = 0) UPDATE ticket SET change_time = "
        "change_time + interval '10 days', title = title || ' (changed)' "
        "WHERE id IN (SELECT id FROM t) RETURNING id",
    )
    return len(out.split())


def measure(args: argparse.Namespace, tickets: int) -> dict[str, Any]:
    template = args.template or default_template()
    source = scale(template, tickets, args.articles_per_ticket, reuse=args.reuse)
    counts = {
        table: int(psql(source, f"SELECT COUNT(*) FROM {table}"))  # noqa: S608
        for table in ("ticket", "article", "article_data_mime_attachment")
    }
    base = floor(source)
    print(
        f"  floor: {base['rows']:,} rows, {base['bytes'] / 1e6:,.0f} MB read and "
        f"COPYed in {base['seconds']:.1f} s",
        flush=True,
    )
    target = helpline_db(tickets)
    full = run_import(source, target)
    ratio = full["seconds"] / base["seconds"]
    print(
        f"  import: {full['seconds']:.1f} s, {counts['ticket'] / full['seconds']:,.0f} "
        f"tickets/s, {counts['article'] / full['seconds']:,.0f} articles/s, "
        f"{ratio:.2f}x the floor",
        flush=True,
    )
    changed = touch(source, 0.01)
    delta = run_import(source, target)
    print(
        f"  cut-over delta ({changed:,} tickets changed): {delta['seconds']:.1f} s",
        flush=True,
    )
    if not args.keep:
        psql("postgres", f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        # The source's change times moved on: not reusable as it was made.
        psql("postgres", f'DROP DATABASE IF EXISTS "{source}" WITH (FORCE)')
    return {
        "tickets": counts["ticket"],
        "articles": counts["article"],
        "attachments": counts["article_data_mime_attachment"],
        "floor": base,
        "import_seconds": full["seconds"],
        "tickets_per_second": round(counts["ticket"] / full["seconds"], 1),
        "articles_per_second": round(counts["article"] / full["seconds"], 1),
        "ratio_to_floor": round(ratio, 2),
        "delta_changed": changed,
        "delta_seconds": delta["seconds"],
        "report": full["report"],
    }


def extrapolate(
    results: list[dict[str, Any]], articles_per_ticket: int
) -> dict[str, Any] | None:
    """Straight lines through the two largest sizes: by tickets, and by articles (the
    scaled sources' article density differs from size to size, since the template is
    copied whole: the line by articles, to a site of 1,000,000 tickets with
    ``articles_per_ticket`` articles each, is the fairer estimate)."""
    if len(results) < 2:
        return None
    a, b = sorted(results, key=lambda r: r["tickets"])[-2:]
    slope = (b["import_seconds"] - a["import_seconds"]) / (b["tickets"] - a["tickets"])
    fixed = b["import_seconds"] - slope * b["tickets"]
    million = fixed + slope * 1_000_000
    per_article = (b["import_seconds"] - a["import_seconds"]) / (
        b["articles"] - a["articles"]
    )
    by_articles = b["import_seconds"] + per_article * (
        1_000_000 * articles_per_ticket - b["articles"]
    )
    return {
        "seconds_per_1000_tickets": [
            round(1000 * r["import_seconds"] / r["tickets"], 2) for r in (a, b)
        ],
        "seconds_per_1000_articles": [
            round(1000 * r["import_seconds"] / r["articles"], 2) for r in (a, b)
        ],
        "estimate_1m_seconds": round(million),
        "estimate_1m_hours": round(million / 3600, 2),
        "estimate_1m_by_articles_hours": round(by_articles / 3600, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", default="20000,100000")
    parser.add_argument("--articles-per-ticket", type=int, default=4)
    parser.add_argument(
        "--template",
        default=os.environ.get("ZNUNY_DB"),
        help="A Znuny-written database to scale (default: the tests' cached one, "
        "made by make-znuny-db.sh on first use; tests/znuny/sources.py).",
    )
    parser.add_argument("--reuse", action="store_true", help="Reuse scaled sources.")
    parser.add_argument("--keep", action="store_true", help="Keep the databases.")
    parser.add_argument("--json-out", metavar="FILE")
    args = parser.parse_args()
    psql("postgres", "SELECT 1")  # fail early, clearly
    results = []
    for size in (int(s) for s in args.tickets.split(",")):
        print(f"== {size:,} tickets", flush=True)
        results.append(measure(args, size))
    growth = extrapolate(results, args.articles_per_ticket)
    if growth:
        print(
            f"seconds per 1,000 tickets: {growth['seconds_per_1000_tickets']}; "
            f"per 1,000 articles: {growth['seconds_per_1000_articles']}; "
            f"1,000,000 tickets: about {growth['estimate_1m_hours']} h, "
            f"{growth['estimate_1m_by_articles_hours']} h with "
            f"{args.articles_per_ticket:,} articles each "
            "(straight lines through the two largest sizes)"
        )
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps({"sizes": results, "growth": growth}, indent=2)
        )


if __name__ == "__main__":
    main()
