from __future__ import annotations

import pytest

from tests.web import build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)
    # No back-off between attempts (each test that is about it sets its own).
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def world(db):
    return build_world(passwords=True)
