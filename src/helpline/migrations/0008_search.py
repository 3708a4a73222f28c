"""The full-text index: an FTS5 table on SQLite, a tsvector column + GIN on PostgreSQL.

Hand-written and vendor-aware: the two databases need different structures, which
Django's schema operations cannot express.  Neither the table nor the column is part
of a Django model; only ``helpline.search`` reads and writes them (docs/search.md
says why the PostgreSQL index lives on the ticket row).  Tickets that exist already
are indexed here, so an upgraded installation can search at once
(``helpline search reindex`` does the same at any time).
"""

from django.db import migrations

# Frozen here, as a migration must be; helpline/search/ describes the same structures.
CREATE = {
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS helpline_search_fts USING fts5("
        "title, subject, body, sender, recipients, attachments, "
        "tokenize = 'unicode61 remove_diacritics 2')",
    ],
    "postgresql": [
        "ALTER TABLE helpline_ticket ADD COLUMN IF NOT EXISTS search_document tsvector",
        "CREATE INDEX IF NOT EXISTS helpline_ticket_search "
        "ON helpline_ticket USING gin (search_document)",
        # Ten times the default sample: the planner then knows how rare a rare word
        # is (with the default, any word outside the ~1000 most common is guessed to
        # be in 0.5% of the tickets, and a search for a name costs 20 ms, not 1).
        "ALTER TABLE helpline_ticket ALTER COLUMN search_document SET STATISTICS 1000",
    ],
}
DROP = {
    "sqlite": ["DROP TABLE IF EXISTS helpline_search_fts"],
    "postgresql": [
        "DROP INDEX IF EXISTS helpline_ticket_search",
        "ALTER TABLE helpline_ticket DROP COLUMN IF EXISTS search_document",
    ],
}


def _statements(vendor, create):
    return (CREATE if create else DROP).get(vendor, [])


# The planner takes "tsvector @@ tsquery" on a row to cost as much as comparing two
# integers; it reads the ticket's whole tsvector (out of line, in TOAST).  Misled, it
# scans tickets in date order testing each, or all of them, instead of asking the GIN
# index: a rare word took 0.3 s at a million tickets, a common one 1.4 s
# (docs/performance.md).  Only a superuser may change a built-in function: without
# one, "helpline search status" says how.
PLANNER_COST = "ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) COST {}"


def _is_superuser(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    for statement in _statements(connection.vendor, create=True):
        schema_editor.execute(statement)
    if connection.vendor == "postgresql" and _is_superuser(connection):
        schema_editor.execute(PLANNER_COST.format(1000))
    # Tickets that exist already are indexed after the whole migration, when the
    # schema is the one the indexing code writes (``indexer.index_after_migrate``).


def drop_index(apps, schema_editor):
    connection = schema_editor.connection
    for statement in _statements(connection.vendor, create=False):
        schema_editor.execute(statement)
    if connection.vendor == "postgresql" and _is_superuser(connection):
        schema_editor.execute(PLANNER_COST.format(1))


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0007_presence"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
