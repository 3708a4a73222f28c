"""Service levels (issue 16, docs/service-levels.md): calendars, service levels, a
queue's service level, a ticket's own one with its notification state, and the
ticket's due times with the index the queue view sorts escalations by.  The
ticket's new columns are nullable (added in place); the index is built
CONCURRENTLY on PostgreSQL, as in 0029_retention.
"""

import django.db.models.deletion
from django.db import migrations, models


INDEX = models.Index(
    condition=models.Q(
        ("state_type__in", ["new", "open", "pending_reminder", "pending_auto"])
    ),
    fields=["queue", "locked", "escalation_at", "id"],
    name="ticket_open_escalation",
)


def create_index(apps, schema_editor):
    model = apps.get_model("helpline", "Ticket")
    if schema_editor.connection.vendor == "postgresql":
        sql = str(INDEX.create_sql(model, schema_editor, concurrently=True))
        schema_editor.execute(
            sql.replace(
                "CREATE INDEX CONCURRENTLY", "CREATE INDEX CONCURRENTLY IF NOT EXISTS", 1
            )
        )
    else:
        schema_editor.add_index(model, INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX.name}"')
    else:
        schema_editor.remove_index(apps.get_model("helpline", "Ticket"), INDEX)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction.
    atomic = False

    dependencies = [
        ('helpline', '0030_access_export'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historyentry',
            name='type',
            field=models.CharField(choices=[('created', 'ticket created'), ('article', 'article added'), ('follow_up', 'follow-up received'), ('moved', 'moved'), ('locked', 'locked'), ('unlocked', 'unlocked'), ('owner', 'owner set'), ('responsible', 'responsible set'), ('priority', 'priority set'), ('state', 'state set'), ('pending_time', 'pending time set'), ('title', 'title set'), ('customer', 'customer set'), ('merged', 'merged'), ('unmerged', 'merge undone'), ('split', 'split'), ('link_added', 'link added'), ('link_removed', 'link removed'), ('archived', 'archived'), ('unarchived', 'unarchived'), ('watch', 'watch started'), ('unwatch', 'watch ended'), ('email_sent', 'email queued'), ('auto_response', 'auto-response queued'), ('delivery_failed', 'delivery failed'), ('bounce', 'bounced'), ('redacted', 'content redacted'), ('anonymised', 'anonymised'), ('legal_hold', 'legal hold set'), ('legal_hold_released', 'legal hold released'), ('service_level', 'service level set'), ('imported', 'imported event')], max_length=30),
        ),
        migrations.CreateModel(
            name='Calendar',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('time_zone', models.CharField(default='UTC', max_length=64)),
                ('hours', models.JSONField(default=dict)),
                ('country', models.CharField(blank=True, max_length=3)),
                ('subdivision', models.CharField(blank=True, max_length=10)),
                ('extra_holidays', models.JSONField(blank=True, default=list)),
                ('comment', models.TextField(blank=True)),
            ],
            options={
                'db_table': 'helpline_calendar',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='ServiceLevel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('calendar', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='service_levels', to='helpline.calendar')),
                ('first_response_minutes', models.PositiveIntegerField(blank=True, null=True)),
                ('update_minutes', models.PositiveIntegerField(blank=True, null=True)),
                ('solution_minutes', models.PositiveIntegerField(blank=True, null=True)),
                ('warning_minutes', models.PositiveIntegerField(default=30)),
                ('comment', models.TextField(blank=True)),
            ],
            options={
                'verbose_name': 'service level',
                'db_table': 'helpline_service_level',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='TicketServiceLevel',
            fields=[
                ('ticket', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='service_level_state', serialize=False, to='helpline.ticket')),
                ('service_level', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='helpline.servicelevel')),
                ('warned', models.JSONField(blank=True, default=list)),
                ('escalated', models.JSONField(blank=True, default=list)),
                ('alert_at', models.DateTimeField(blank=True, db_index=True, null=True)),
            ],
            options={
                'db_table': 'helpline_ticket_service_level',
            },
        ),
        migrations.AddField(
            model_name='ticket',
            name='escalation_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='first_response_due',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='solution_due',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='update_due',
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Built without locking the ticket table on PostgreSQL (docs/upgrading.md,
        # rule 3), as in 0029_retention.
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="ticket", index=INDEX)],
            database_operations=[
                migrations.RunPython(create_index, drop_index, elidable=False)
            ],
        ),
        migrations.AddField(
            model_name='queue',
            name='service_level',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='queues', to='helpline.servicelevel'),
        ),
    ]
