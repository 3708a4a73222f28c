# Mentions, out-of-office and saved searches (0037_agent_day) were built beside composing.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0034_merge_composing"),
        ("helpline", "0037_agent_day"),
    ]

    operations = []
