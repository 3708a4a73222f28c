# Composing (0033_composing) was built beside service levels and spam.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0033_composing"),
        ("helpline", "0033_merge_service_levels_spam"),
    ]

    operations = []
