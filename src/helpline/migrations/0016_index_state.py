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
    ]
