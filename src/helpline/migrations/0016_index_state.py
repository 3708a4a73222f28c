import django.db.models.deletion
from django.db import migrations, models


def first_state(apps, schema_editor):
    # A database without tickets has no entry of an older format: its index is
    # complete in format 2.  One with tickets keeps relying on format 1 until
    # ``helpline search reindex`` has rebuilt every entry.  The entries a queue's
    # tickets get from then on name its group.
    Ticket = apps.get_model("helpline", "Ticket")
    Queue = apps.get_model("helpline", "Queue")
    IndexState = apps.get_model("helpline", "IndexState")
    db = schema_editor.connection.alias
    Queue.objects.using(db).update(search_group=models.F("group"))
    has_tickets = Ticket.objects.using(db).exists()
    IndexState.objects.using(db).create(pk=1, complete_format=1 if has_tickets else 2)


# A queue whose group changes, by any statement (the admin site's save, a script's
# bulk update), no longer has entries that all name one group: PostgreSQL clears
# its search_group itself, so that no sequence of changes (A -> B -> A) can make it
# look settled while some entries name B.  A rebuild sets it again.
POSTGRES_TRIGGER = [
    """
    CREATE OR REPLACE FUNCTION helpline_queue_regrouped() RETURNS trigger AS $$
    BEGIN
        NEW.search_group_id := NULL;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER helpline_queue_regrouped BEFORE UPDATE OF group_id
    ON helpline_queue FOR EACH ROW
    WHEN (OLD.group_id IS DISTINCT FROM NEW.group_id)
    EXECUTE FUNCTION helpline_queue_regrouped()
    """,
]
def add_trigger(apps, schema_editor):
    # PostgreSQL only, whose searches narrow by group (SQLite's do not; and its
    # schema editor rebuilds a table to alter it, dropping its triggers).
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_TRIGGER:
            schema_editor.execute(statement)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS helpline_queue_regrouped ON helpline_queue"
        )
        schema_editor.execute("DROP FUNCTION IF EXISTS helpline_queue_regrouped()")


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0015_search_open"),
    ]

    operations = [
        migrations.CreateModel(
            name="IndexState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("complete_format", models.PositiveSmallIntegerField(default=1)),
            ],
        ),
        migrations.AddField(
            model_name="queue",
            name="search_group",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="helpline.group",
            ),
        ),
        migrations.RunPython(first_state, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
