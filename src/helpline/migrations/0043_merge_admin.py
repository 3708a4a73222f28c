# The administration area (0039_admin) was built beside automation, drafts and the agent's day.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0039_admin"),
        ("helpline", "0042_merge_automation"),
    ]

    operations = []
