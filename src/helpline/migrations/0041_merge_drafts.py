# Drafts (0040_drafts) were built beside mentions, out-of-office and saved searches.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0038_merge_agent_day"),
        ("helpline", "0040_drafts"),
    ]

    operations = []
