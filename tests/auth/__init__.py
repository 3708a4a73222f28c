"""Tests of two-factor authentication (docs/authentication.md).

``fresh_code`` computes what an authenticator app would show: the code of the first
time step the device has not used yet, within its tolerance (RFC 6238 through
django-otp's HOTP); ``enrol`` sets an agent up through the actions.
"""

from __future__ import annotations

import time
from typing import Any

from django.urls import reverse
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpline.actions import twofactor


def fresh_code(agent: Any) -> str:
    device = TOTPDevice.objects.filter(user=agent).order_by("-pk").first()
    assert device is not None, "the agent has no authenticator device"
    elapsed = int(time.time()) - device.t0
    now = elapsed // device.step + device.drift
    # The earliest code still accepted, unless its step ends within 10 s: a busy
    # machine could then post it after the window moved on (a flaky test).
    earliest = now - device.tolerance
    if device.step - elapsed % device.step < 10:
        earliest = now - device.tolerance + 1
    for t in range(earliest, now + device.tolerance + 1):
        if t > device.last_t:
            return f"{hotp(device.bin_key, t, device.digits):0{device.digits}d}"
    raise AssertionError("every code of this time step is used up")


def wrong_code(agent: Any) -> str:
    """A six-digit code the device does not accept now."""
    device = TOTPDevice.objects.filter(user=agent).order_by("-pk").first()
    assert device is not None
    now = (int(time.time()) - device.t0) // device.step + device.drift
    valid = {
        f"{hotp(device.bin_key, t, device.digits):06d}" for t in range(now - 3, now + 4)
    }
    return next(f"{n:06d}" for n in range(1000) if f"{n:06d}" not in valid)


def enrol(agent: Any) -> list[str]:
    """Set up the agent's authenticator app; returns its recovery codes."""
    twofactor.start_enrolment(agent)
    return twofactor.confirm_enrolment(agent, fresh_code(agent))


def password_step(client: Any, login: str, password: str, **extra: Any) -> Any:
    return client.post(
        reverse("login"), {"username": login, "password": password}, **extra
    )


def code_step(client: Any, code: str, **extra: Any) -> Any:
    return client.post(reverse("login-code"), {"code": code}, **extra)
