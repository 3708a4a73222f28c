# The administration log and the agents' admin screen (a proxy of Django's user).
# Depends on 0016 here; 0017 (another branch) comes first once both are merged.

import django.contrib.auth.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("helpline", "0017_merge_notes_name_no_ticket"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AgentAccount",
            fields=[],
            options={
                "verbose_name": "agent",
                "verbose_name_plural": "agents",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("auth.user",),
            managers=[
                ("objects", django.contrib.auth.models.UserManager()),
            ],
        ),
        migrations.CreateModel(
            name="AdminAuditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("created", models.DateTimeField()),
                ("actor_name", models.CharField(blank=True, max_length=150)),
                ("action", models.CharField(max_length=50)),
                ("object_type", models.CharField(max_length=100)),
                ("object_id", models.CharField(blank=True, max_length=50)),
                ("object_repr", models.CharField(blank=True, max_length=300)),
                ("before", models.JSONField(blank=True, default=dict)),
                ("after", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "administration log entry",
                "verbose_name_plural": "administration log",
                "db_table": "helpline_admin_audit",
                "ordering": ["-created", "-id"],
                "permissions": [
                    (
                        "handle_unrouted_mail",
                        "Read and replay mail that is on no ticket",
                    )
                ],
                "indexes": [
                    models.Index(fields=["created"], name="admin_audit_created")
                ],
            },
        ),
    ]
