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


class Migration(migrations.Migration):
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
                related_name="+",
                to="helpline.ticket",
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="anonymised",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("anonymised__isnull", True), ("legal_hold", False)),
                fields=["queue", "state_type", "closed_at", "id"],
                name="ticket_retention",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("anonymised__isnull", True), ("legal_hold", False)),
                fields=["queue", "changed", "id"],
                name="ticket_retention_junk",
            ),
        ),
    ]
