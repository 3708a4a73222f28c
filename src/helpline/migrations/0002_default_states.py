"""Seed the OTRS default states (BEHAVIOUR.md section 3)."""

from django.db import migrations

DEFAULT_STATES = [
    ("new", "new", None),
    ("open", "open", None),
    ("closed successful", "closed", None),
    ("closed unsuccessful", "closed", None),
    ("pending reminder", "pending_reminder", None),
    ("pending auto close+", "pending_auto", "closed successful"),
    ("pending auto close-", "pending_auto", "closed unsuccessful"),
    ("merged", "merged", None),
    ("removed", "removed", None),
]


def seed(apps, schema_editor):
    state_model = apps.get_model("helpline", "TicketState")
    by_name = {}
    for name, type_, _next in DEFAULT_STATES:
        by_name[name], _ = state_model.objects.get_or_create(
            name=name, defaults={"type": type_}
        )
    for name, _type, next_name in DEFAULT_STATES:
        if next_name:
            state = by_name[name]
            state.next_state = by_name[next_name]
            state.save(update_fields=["next_state"])


class Migration(migrations.Migration):
    dependencies = [("helpline", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
