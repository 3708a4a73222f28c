"""Single sign-on: which identity-provider group gives which Helpline role."""

from __future__ import annotations

from django.db import models

from helpline.models.permissions import Role


class IdpGroupMapping(models.Model):
    """Members of ``idp_group`` at the OpenID Connect provider are members of ``role``.

    At every sign-in the agent's membership of each mapped role follows its groups at
    the provider (actions/sso.py); roles without a mapping are never touched."""

    idp_group = models.CharField(max_length=200)
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="idp_groups")

    class Meta:
        db_table = "helpline_idp_group_mapping"
        ordering = ["idp_group", "role__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["idp_group", "role"], name="idp_group_mapping_unique"
            )
        ]
        verbose_name = "identity-provider group mapping"

    def __str__(self) -> str:
        return f"{self.idp_group} → {self.role}"
