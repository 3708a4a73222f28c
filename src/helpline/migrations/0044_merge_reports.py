# Reports (0038_reports) were built beside the administration area, automation and drafts.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0038_reports"),
        ("helpline", "0043_merge_admin"),
    ]

    operations = []
