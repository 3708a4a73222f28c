"""Reading PostgreSQL's plan for a query with one index left to it.

A test of a few rows cannot ask the planner which index it *prefers*: on a table of
three rows any index whose condition it can check is as cheap as another, and which
one it takes depends on the statistics earlier tests left.  What such a test can
ask is whether the index it is about *can* serve the query (in its order, with no
sort): so every other index of the table that is not a constraint's is dropped, and
sequential and bitmap scans are turned off, inside the test's transaction (rolled
back with it)."""

from __future__ import annotations

from django.db import connection


def explain_with_only(table: str, index: str, sql: str, params: tuple) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes i WHERE tablename = %s "
            "AND indexname <> %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)",
            [table, index],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)  # noqa: S608 - Django's SQL
        return " ".join(row[0] for row in cursor.fetchall())
