"""Policies that require agents to use a second factor when they log in.

The devices themselves (an authenticator app's TOTP secret, the recovery codes) are
django-otp's models (``otp_totp.TOTPDevice``, ``otp_static.StaticDevice``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from helpline.models.permissions import Group, Permission, Role


class TwoFactorPolicy(models.Model):
    """Agents to whom it applies must log in with a second factor.

    It names exactly one kind of agent: the members of ``role``; everyone holding
    ``permission`` on ``group`` (directly or through a role; blank: any permission,
    and ``rw`` counts for every permission but ``override_lock`` and ``redact``, as
    everywhere); or,
    with ``administrators``, everyone who may open the administration screens.
    """

    name = models.CharField(max_length=200, unique=True)
    valid = models.BooleanField(default=True)
    role = models.ForeignKey(
        Role, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    permission = models.CharField(
        max_length=20,
        choices=Permission.choices,
        blank=True,
        help_text="With a group: only those holding this permission (blank: any).",
    )
    administrators = models.BooleanField(
        default=False, help_text="Everyone who may open the administration screens."
    )

    class Meta:
        db_table = "helpline_two_factor_policy"
        ordering = ["name"]
        verbose_name = "two-factor policy"
        verbose_name_plural = "two-factor policies"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        role__isnull=False, group__isnull=True, administrators=False
                    )
                    | models.Q(
                        role__isnull=True, group__isnull=False, administrators=False
                    )
                    | models.Q(
                        role__isnull=True, group__isnull=True, administrators=True
                    )
                ),
                name="two_factor_policy_one_target",
                violation_error_message=(
                    "A policy names exactly one of: a role, a group, or the "
                    "administrators."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def describe(self) -> str:
        if self.role_id is not None:
            return f"members of role {self.role}"
        if self.group_id is not None:
            what = self.permission or "any permission"
            return f"everyone with {what} on group {self.group}"
        return "administrators"


class WebAuthnCredential(models.Model):
    """A security key or passkey an agent registered as a second factor (WebAuthn).

    ``credential_id`` is the authenticator's id of the credential (base64url, as the
    browser sends it); ``public_key`` its COSE public key; ``sign_count`` the last
    signature counter seen (a counter that does not grow betrays a cloned key).
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=100)
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "helpline_webauthn_credential"
        ordering = ["created", "pk"]
        verbose_name = "security key"

    def __str__(self) -> str:
        return self.name
