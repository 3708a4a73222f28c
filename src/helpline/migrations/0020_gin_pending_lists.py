"""PostgreSQL: the GIN indexes of the ticket table keep up to 32 MB of pending
entries, which the worker moves into them every minute.

No update of a ticket is HOT (each changes ``changed``, which is indexed), so every
one adds the ticket's whole search document to the pending list of the four GIN
indexes; at PostgreSQL's default limit (4 MB) one update in a few hundred had to
move the list into the index itself — up to a second, in an agent's request, holding
the ticket's row lock.  With this limit a minute's writes stay under it and the
periodic job ``flush_search_index`` does the moving (docs/search.md has the
measurements; ``fastupdate = off`` instead made every update several times slower).
SQLite: nothing.
"""

from django.db import migrations

# Frozen here, as a migration must be (helpline/search/postgres.py: GIN_INDEXES).
INDEXES = (
    "helpline_ticket_search",
    "helpline_ticket_search_live",
    "helpline_ticket_search_open",
    "helpline_ticket_title_words",
)


def _alter(schema_editor, options):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        # An index may be missing while a bulk rebuild runs (``--fresh``), which
        # then creates it with these options.
        schema_editor.execute(f"ALTER INDEX IF EXISTS {index} {options}")


def set_limit(apps, schema_editor):
    _alter(schema_editor, "SET (fastupdate = on, gin_pending_list_limit = 32768)")


def reset_limit(apps, schema_editor):
    _alter(schema_editor, "RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0019_job_leases"),
    ]

    operations = [
        migrations.RunPython(set_limit, reset_limit, elidable=False),
    ]
