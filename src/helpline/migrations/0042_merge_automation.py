# Automation jobs (0036_automation) were built beside drafts, mentions and saved searches.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0036_automation"),
        ("helpline", "0041_merge_drafts"),
    ]

    operations = []
