"""Retention and erasure (issue 17): what removing a ticket's data needs.

- ``Ticket.anonymised``: when retention or an erasure anonymised the ticket; such a
  ticket stays (for reports) and retention passes it by.
- ``OutboxMessage.ticket``: the ticket a queued or sent mail is about.  Replies had
  their article; an agent notification (which quotes the ticket's title and the
  customer's words) had nothing that named its ticket, so removing a ticket could not
  find it.  Rows written before this migration keep NULL: a notification queued
  before the upgrade is not found by a removal (docs/data-protection.md).
- Two partial indexes for retention's per-queue ranges: the closed tickets of a
  queue by closing time, and (junk queues) every ticket by last change, both
  without held or anonymised tickets, so the nightly preview and run read what is
  due, not the millions of tickets kept.
"""

import django.db.models.deletion
from django.db import migrations, models


INDEXES = [
    models.Index(fields=["ticket"], name="outbox_ticket"),
    models.Index(
        condition=models.Q(("anonymised__isnull", True), ("legal_hold", False)),
        fields=["queue", "state_type", "closed_at", "id"],
        name="ticket_retention",
    ),
    models.Index(
        condition=models.Q(("anonymised__isnull", True), ("legal_hold", False)),
        fields=["queue", "changed", "id"],
        name="ticket_retention_junk",
    ),
]


def _model_of(apps, index):
    name = "OutboxMessage" if index.name == "outbox_ticket" else "Ticket"
    return apps.get_model("helpline", name)


def create_indexes(apps, schema_editor):
    concurrently = schema_editor.connection.vendor == "postgresql"
    for index in INDEXES:
        model = _model_of(apps, index)
        if concurrently:
            sql = str(index.create_sql(model, schema_editor, concurrently=True))
            schema_editor.execute(
                sql.replace(
                    "CREATE INDEX CONCURRENTLY",
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS",
                    1,
                )
            )
        else:
            schema_editor.add_index(model, index)


def drop_indexes(apps, schema_editor):
    concurrently = schema_editor.connection.vendor == "postgresql"
    for index in INDEXES:
        if concurrently:
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index.name}"')
        else:
            schema_editor.remove_index(_model_of(apps, index), index)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction.
    atomic = False

    dependencies = [
        ("helpline", "0028_data_protection"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="ticket",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                db_index=False,
                related_name="+",
                to="helpline.ticket",
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="anonymised",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Built without locking the ticket table on PostgreSQL (docs/upgrading.md,
        # rule 3): Django's model learns the indexes, the database gets them
        # CONCURRENTLY, outside a transaction.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name=(
                        "outboxmessage" if index.name == "outbox_ticket" else "ticket"
                    ),
                    index=index,
                )
                for index in INDEXES
            ],
            database_operations=[
                migrations.RunPython(create_indexes, drop_indexes, elidable=False)
            ],
        ),
    ]
