"""The ``manage`` permission (issue 18, docs/administration.md): a new choice of
``Grant.permission`` and ``TwoFactorPolicy.permission`` (no change in the database),
and when an agent was warned of its deactivation for inactivity (a nullable column of
the small agent profile table)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("helpline", "0033_merge_service_levels_spam"),
    ]

    operations = [
        migrations.AddField(
            model_name="agentprofile",
            name="inactivity_warned",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="grant",
            name="permission",
            field=models.CharField(
                choices=[
                    ("ro", "read only"),
                    ("move_into", "move into"),
                    ("create", "create"),
                    ("note", "add notes"),
                    ("owner", "be owner"),
                    ("priority", "change priority"),
                    ("rw", "read and write"),
                    ("override_lock", "override another agent's lock"),
                    ("redact", "redact content"),
                    ("manage", "manage the group's agents and templates"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="twofactorpolicy",
            name="permission",
            field=models.CharField(
                blank=True,
                choices=[
                    ("ro", "read only"),
                    ("move_into", "move into"),
                    ("create", "create"),
                    ("note", "add notes"),
                    ("owner", "be owner"),
                    ("priority", "change priority"),
                    ("rw", "read and write"),
                    ("override_lock", "override another agent's lock"),
                    ("redact", "redact content"),
                    ("manage", "manage the group's agents and templates"),
                ],
                help_text="With a group: only those holding this permission (blank: any).",
                max_length=20,
            ),
        ),
    ]
