# Service levels (0031) and spam (0032) were built side by side; the history types
# of both together.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0031_service_levels"),
        ("helpline", "0032_spam"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historyentry",
            name="type",
            field=models.CharField(
                choices=[
                    ("created", "ticket created"),
                    ("article", "article added"),
                    ("follow_up", "follow-up received"),
                    ("moved", "moved"),
                    ("locked", "locked"),
                    ("unlocked", "unlocked"),
                    ("owner", "owner set"),
                    ("responsible", "responsible set"),
                    ("priority", "priority set"),
                    ("state", "state set"),
                    ("pending_time", "pending time set"),
                    ("title", "title set"),
                    ("customer", "customer set"),
                    ("merged", "merged"),
                    ("unmerged", "merge undone"),
                    ("split", "split"),
                    ("link_added", "link added"),
                    ("link_removed", "link removed"),
                    ("archived", "archived"),
                    ("unarchived", "unarchived"),
                    ("watch", "watch started"),
                    ("unwatch", "watch ended"),
                    ("email_sent", "email queued"),
                    ("auto_response", "auto-response queued"),
                    ("delivery_failed", "delivery failed"),
                    ("bounce", "bounced"),
                    ("redacted", "content redacted"),
                    ("anonymised", "anonymised"),
                    ("legal_hold", "legal hold set"),
                    ("legal_hold_released", "legal hold released"),
                    ("spam", "marked as spam"),
                    ("not_spam", "marked as not spam"),
                    ("service_level", "service level set"),
                    ("imported", "imported event"),
                ],
                max_length=30,
            ),
        ),
    ]
