"""The date index, newest first, on (changed, id): a page in the order of the search
and the lists ends with the id, so it is read from the index and stops when full.

On PostgreSQL the index also carries (INCLUDE) the columns that decide whether a
ticket is visible and in the relevance title group: queue, archived, owner,
responsible and ``title_words`` (migration 0010).  A page of a word's title group
newest first is then read from the index alone, without visiting the table for the
thousands of tickets passed over (docs/performance.md: 100 ms -> a few ms at a
million tickets for a word in 0.7% of the titles).  Django knows it as the plain
index of the model; other databases get that.
"""

from django.db import migrations, models

COVERING = (
    "CREATE INDEX ticket_changed_id ON helpline_ticket (changed DESC, id DESC) "
    "INCLUDE (queue_id, archived, owner_id, responsible_id, title_words)"
)
PLAIN = (
    "CREATE INDEX ticket_changed_id ON helpline_ticket (changed DESC, id DESC)"
)


def create(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(COVERING if postgres else PLAIN)


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS ticket_changed_id")


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0010_title_words"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="ticket",
                    index=models.Index(
                        fields=["-changed", "-id"], name="ticket_changed_id"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(create, drop)],
        ),
        migrations.RemoveIndex(model_name="ticket", name="ticket_changed"),
    ]
