from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from helpline.actions import admin, service_levels
from helpline.actions.service_levels import LevelChange
from helpline.models import Permission
from tests.support import make_agent, make_group, make_queue


class Clock:
    """``timezone.now()`` fixed at a moment the test sets."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def set(self, zone: str, text: str) -> datetime:
        local = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
        self.now = local.astimezone(UTC)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fixed = Clock()
    monkeypatch.setattr("django.utils.timezone.now", lambda: fixed.now)
    return fixed


@pytest.fixture
def desk(db):
    """A queue with the Berlin office's service level, and an agent on it."""
    group = make_group("Support")
    queue = make_queue("Info", group=group)
    alice = make_agent("alice")
    admin.grant(group, [Permission.RW, Permission.OWNER], agent=alice)
    service_levels.save_calendar(
        None,
        "Berlin office",
        time_zone_name="Europe/Berlin",
        hours="mon-fri 09:00-17:00",
        country="DE",
        subdivision="BE",
        extra_holidays=["2026-12-24"],
    )
    service_levels.save_calendar(
        None,
        "New York office",
        time_zone_name="America/New_York",
        hours="mon-fri 09:00-17:00",
        country="US",
        subdivision="NY",
    )
    level = service_levels.save_service_level(
        None,
        "Standard",
        LevelChange(
            calendar="Berlin office",
            first_response=120,
            update=240,
            solution=960,
            warning=30,
        ),
    )
    service_levels.set_queue_service_level(None, queue, level)
    return queue, alice
