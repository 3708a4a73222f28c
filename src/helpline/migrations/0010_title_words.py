"""PostgreSQL: the words of each ticket's title in a tsvector of their own.

``helpline_ticket.title_words`` (like ``search_document``, not a field of the Django
model) is short enough to stay in the row, so the search can test it cheaply while
walking tickets newest first: the first tier of a relevance search (the tickets
whose title has the words) then costs a page, not all the titles with a common word
fetched and sorted (docs/performance.md).  Existing tickets are filled here from
their titles; ``helpline search reindex`` writes both columns.  SQLite: nothing (the
FTS5 table has a title column).
"""

from django.db import migrations

BATCH = 20_000

CREATE = [
    "CREATE INDEX IF NOT EXISTS helpline_ticket_title_words "
    "ON helpline_ticket USING gin (title_words)",
    "ALTER TABLE helpline_ticket ALTER COLUMN title_words SET STATISTICS 1000",
]
DROP = [
    "DROP INDEX IF EXISTS helpline_ticket_title_words",
    "ALTER TABLE helpline_ticket DROP COLUMN IF EXISTS title_words",
]


def add_title_words(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    from helpline.search.postgres import title_literal

    schema_editor.execute(
        "ALTER TABLE helpline_ticket ADD COLUMN IF NOT EXISTS title_words tsvector"
    )
    last = 0
    with connection.cursor() as cursor:
        while True:
            # Only indexed tickets: an unindexed one gets both columns when it is.
            cursor.execute(
                "SELECT id, title FROM helpline_ticket WHERE id > %s "
                "AND search_document IS NOT NULL ORDER BY id LIMIT %s",
                [last, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            cursor.execute(
                "UPDATE helpline_ticket AS t SET title_words = v.title::tsvector "
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, title) "
                "WHERE t.id = v.id",
                [[r[0] for r in rows], [title_literal(r[1]) for r in rows]],
            )
            last = rows[-1][0]
    for statement in CREATE:
        schema_editor.execute(statement)
    schema_editor.execute("ANALYZE helpline_ticket")


def drop_title_words(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0009_periodic_runs"),
    ]

    operations = [
        migrations.RunPython(add_title_words, drop_title_words, elidable=False),
    ]
