"""Two-factor authentication: an authenticator app (TOTP) and single-use recovery
codes, django-otp's devices, and the policies that require them (docs/authentication.md).

Who may do what is decided here, for every entry point: an agent enrols, regenerates
its recovery codes and switches its own second factor off (the last two with its
password and a current code; switching off is refused while a policy requires it);
an administrator, or the command line, resets an agent's second factor when the
device is lost.  Every change is written to the administration log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpline.actions.access import group_permissions
from helpline.actions.admin import record
from helpline.errors import InvalidInput, PermissionDenied
from helpline.models import (
    Grant,
    Permission,
    Role,
    TwoFactorPolicy,
    WebAuthnCredential,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

audit = logging.getLogger("helpline.audit")

RECOVERY_CODES = 10
DEVICE_NAME = "authenticator app"
RECOVERY_NAME = "recovery codes"


# --- who must use it ------------------------------------------------------------------


def applying_policies_q(agent: Agent) -> Q:
    """The valid policies that apply to ``agent`` (a condition on TwoFactorPolicy)."""
    held = Grant.objects.held_by(agent).filter(group_id=OuterRef("group_id"))
    by_group = Q(group__isnull=False) & (
        (Q(permission="") & Exists(held))
        | Exists(held.filter(permission=OuterRef("permission")))
        # rw implies every permission but the explicit ones (actions.access).
        | (
            ~Q(permission__in=Permission.explicit_only())
            & Exists(held.filter(permission="rw"))
        )
    )
    by_role = Q(role__isnull=False, role__valid=True, role__members=agent)
    targets = by_group | by_role
    if agent.is_staff:
        targets |= Q(administrators=True)
    return Q(valid=True) & targets


def policies_for(agent: Agent) -> list[TwoFactorPolicy]:
    """The valid policies that require ``agent`` to use a second factor."""
    if agent.pk is None or not agent.is_active:
        return []
    return list(TwoFactorPolicy.objects.filter(applying_policies_q(agent)).distinct())


@dataclass(frozen=True)
class TwoFactorState:
    required: bool  # a policy requires it
    enrolled: bool  # a confirmed authenticator app, or a security key


def _applies(
    policy: tuple[int | None, int | None, str, bool],
    agent: Agent,
    role_ids: Callable[[], set[int]],
) -> bool:
    role_id, group_id, permission, administrators = policy
    if administrators:
        return bool(agent.is_staff)
    if role_id is not None:
        return role_id in role_ids()
    held = group_permissions(agent).get(group_id or 0, frozenset())
    if not permission:
        return bool(held)
    return permission in held or (
        permission not in Permission.explicit_only() and Permission.RW in held
    )


def two_factor_state(agent: Agent) -> TwoFactorState:
    """Whether a policy requires a second factor of ``agent``, and whether it has one.

    The middleware asks this on every request of a session that has not proved a
    second factor, so it is kept to two small indexed queries (the valid policies,
    the agent's device), plus the agent's grants (``access.group_permissions``,
    cached on the agent object the views use too) and roles only when a policy
    names a group or a role.  The rule is the same as ``applying_policies_q``.
    """
    if agent.pk is None or not agent.is_active:
        return TwoFactorState(required=False, enrolled=False)
    policies = list(
        TwoFactorPolicy.objects.filter(valid=True)
        .filter(Q(role__isnull=True) | Q(role__valid=True))
        .values_list("role_id", "group_id", "permission", "administrators")
    )
    roles: list[set[int]] = []

    def role_ids() -> set[int]:
        if not roles:
            roles.append(
                set(Role.objects.filter(members=agent).values_list("pk", flat=True))
            )
        return roles[0]

    required = any(_applies(p, agent, role_ids) for p in policies)
    return TwoFactorState(required=required, enrolled=has_two_factor(agent))


def has_two_factor(agent: Agent) -> bool:
    """Does ``agent`` log in with a second factor (a confirmed authenticator app, or
    a security key: actions.webauthn)?"""
    return (
        has_authenticator_app(agent)
        or WebAuthnCredential.objects.filter(agent=agent).exists()
    )


def has_authenticator_app(agent: Agent) -> bool:
    return TOTPDevice.objects.filter(user=agent, confirmed=True).exists()


def recovery_codes_left(agent: Agent) -> int:
    return StaticToken.objects.filter(device__user=agent).count()


# --- enrolment ------------------------------------------------------------------------


def start_enrolment(agent: Agent) -> TOTPDevice:
    """The unconfirmed authenticator device of ``agent`` (a new secret if it has
    none), to show as a QR code; it counts only once confirmed with a code."""
    if has_authenticator_app(agent):
        raise InvalidInput("Two-factor authentication is already set up.")
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=agent, confirmed=False)
            .first()
        )
        if device is None:
            device = TOTPDevice.objects.create(
                user=agent, name=DEVICE_NAME, confirmed=False
            )
    return device


def _new_recovery_codes(agent: Agent) -> list[str]:
    """Replace the agent's recovery codes with new ones (in a transaction)."""
    StaticDevice.objects.filter(user=agent).delete()
    device = StaticDevice.objects.create(user=agent, name=RECOVERY_NAME)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def normalise_code(code: str) -> str:
    """Codes as people type them: spaces and dashes dropped, lower case."""
    return "".join(ch for ch in code if ch not in " -\t").lower()


def confirm_enrolment(agent: Agent, code: str) -> list[str]:
    """Confirm the authenticator app with a current ``code``; returns the new
    recovery codes (shown once: only their use can be checked afterwards)."""
    code = normalise_code(code)
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=agent, confirmed=False)
            .first()
        )
        if device is None:
            raise InvalidInput("Start the set-up again: no authenticator app waits.")
        if not (code.isdigit() and device.verify_token(code)):
            raise InvalidInput(
                "That code is not right. Check the time on your phone and enter "
                "the code the app shows now."
            )
        TOTPDevice.objects.filter(user=agent).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(agent)
        record(agent, "two-factor enabled", agent, object_type="agent")
    return codes


# --- logging in -----------------------------------------------------------------------


class Verified:
    """How a second step succeeded."""

    TOTP = "totp"
    RECOVERY_CODE = "recovery code"


def verify_second_factor(agent: Agent, code: str) -> str | None:
    """Check a code from the authenticator app or a recovery code (used up).

    Returns ``Verified.TOTP`` or ``Verified.RECOVERY_CODE``, or ``None`` for a wrong
    code.  Each device also backs off after failures (django-otp: 1, 2, 4... seconds
    before it checks again), besides the login throttle the caller applies.
    """
    code = normalise_code(code)
    if not code or not agent.is_active:
        return None
    with transaction.atomic():
        if code.isdigit() and len(code) == 6:
            for device in TOTPDevice.objects.select_for_update().filter(
                user=agent, confirmed=True
            ):
                if device.verify_token(code):
                    return Verified.TOTP
            return None
        for static in StaticDevice.objects.select_for_update().filter(user=agent):
            if static.verify_token(code):
                left = StaticToken.objects.filter(device__user=agent).count()
                record(
                    agent,
                    "recovery code used",
                    agent,
                    object_type="agent",
                    after={"recovery codes left": left},
                )
                return Verified.RECOVERY_CODE
    return None


# --- changing it ----------------------------------------------------------------------


def _check_password_and_code(agent: Agent, password: str, code: str) -> None:
    if not agent.check_password(password):
        raise PermissionDenied("The password is not right.")
    if verify_second_factor(agent, code) is None:
        raise PermissionDenied("The code is not right.")


def regenerate_recovery_codes(agent: Agent, *, password: str, code: str) -> list[str]:
    """New recovery codes for ``agent`` (the old ones stop working); needs its
    password and a current code (or a recovery code)."""
    if not has_two_factor(agent):
        raise InvalidInput("Two-factor authentication is not set up.")
    _check_password_and_code(agent, password, code)
    with transaction.atomic():
        codes = _new_recovery_codes(agent)
        record(agent, "recovery codes regenerated", agent, object_type="agent")
    return codes


def disable_two_factor(agent: Agent, *, password: str, code: str) -> None:
    """Switch ``agent``'s second factor off (with its password and a code); refused
    while a policy requires one."""
    if not has_two_factor(agent):
        raise InvalidInput("Two-factor authentication is not set up.")
    policies = policies_for(agent)
    if policies:
        raise PermissionDenied(
            "Two-factor authentication is required for you ("
            + ", ".join(p.name for p in policies)
            + "): it cannot be switched off."
        )
    _check_password_and_code(agent, password, code)
    with transaction.atomic():
        _delete_devices(agent)
        record(agent, "two-factor disabled", agent, object_type="agent")


def _delete_devices(agent: Agent) -> int:
    removed = TOTPDevice.objects.filter(user=agent).delete()[0]
    removed += WebAuthnCredential.objects.filter(agent=agent).delete()[0]
    return removed + StaticDevice.objects.filter(user=agent).delete()[0]


def may_reset_two_factor(actor: Agent | None) -> bool:
    """The command line (``None``) and active administrators may reset it."""
    return actor is None or bool(actor.is_active and actor.is_staff)


def reset_two_factor(actor: Agent | None, agent: Agent) -> bool:
    """Remove ``agent``'s authenticator app, security keys and recovery codes: its
    next login takes the password alone, and, where a policy requires it, sends it to
    set up a new one first.  Written to the administration log.  Returns whether there
    was anything to remove."""
    if not may_reset_two_factor(actor):
        raise PermissionDenied("Only administrators reset an agent's second factor.")
    with transaction.atomic():
        had = _delete_devices(agent) > 0
        record(
            actor,
            "two-factor reset",
            agent,
            object_type="agent",
            before={"two-factor": had},
            after={"two-factor": False},
        )
    return had


def check_policy(policy: TwoFactorPolicy) -> None:
    """A policy names exactly one kind of agent; a permission only with a group."""
    targets = [
        policy.role_id is not None,
        policy.group_id is not None,
        bool(policy.administrators),
    ]
    if sum(targets) != 1:
        raise InvalidInput(
            "A policy names exactly one of: a role, a group, or the administrators."
        )
    if policy.permission and policy.group_id is None:
        raise InvalidInput("A permission is only given together with a group.")
    if policy.permission and policy.permission not in Permission.values:
        raise InvalidInput(f"Unknown permission {policy.permission!r}.")
