"""Calendars and service levels on the administration screens: saved through the
actions (logged), errors as form errors, a level's queues chosen on its page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.models import AdminAuditEntry, Calendar, Queue, ServiceLevel
from tests.support import make_agent, make_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(db, client):
    client.force_login(make_agent("boss", is_admin=True))


def _calendar_form(**overrides: str) -> dict[str, str]:
    form = {
        "name": "Berlin",
        "time_zone": "Europe/Berlin",
        "country": "DE",
        "subdivision": "BE",
        "hours_text": "mon-fri 09:00-17:00",
        "holidays_text": "2026-12-24, 2026-12-31",
        "comment": "",
    }
    form.update(overrides)
    return form


def test_a_calendar_is_created_through_the_action(boss, client):
    response = client.post(reverse("admin:helpline_calendar_add"), _calendar_form())
    assert response.status_code == 302
    calendar = Calendar.objects.get(name="Berlin")
    assert calendar.hours["fri"] == ["09:00-17:00"]
    assert calendar.extra_holidays == ["2026-12-24", "2026-12-31"]
    assert AdminAuditEntry.objects.filter(object_type="calendar").count() == 1
    page = client.get(reverse("admin:helpline_calendar_change", args=[calendar.pk]))
    assert "mon-fri 09:00-17:00" in page.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hours_text", "mon 9-17", "not a time"),
        ("time_zone", "Atlantis/Capital", "Unknown time zone"),
        ("subdivision", "ZZ", "ZZ"),
    ],
)
def test_a_bad_calendar_is_a_form_error(boss, client, field, value, message):
    response = client.post(
        reverse("admin:helpline_calendar_add"), _calendar_form(**{field: value})
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Calendar.objects.exists()


def test_a_service_level_takes_its_queues(boss, client, queue):
    client.post(reverse("admin:helpline_calendar_add"), _calendar_form())
    other = make_queue("Other", group=queue.group)
    response = client.post(
        reverse("admin:helpline_servicelevel_add"),
        {
            "name": "Standard",
            "calendar": str(Calendar.objects.get().pk),
            "first_response_minutes": "120",
            "update_minutes": "",
            "solution_minutes": "960",
            "warning_minutes": "30",
            "queues": [str(queue.pk)],
            "comment": "",
        },
    )
    assert response.status_code == 302
    level = ServiceLevel.objects.get()
    assert (level.first_response_minutes, level.update_minutes) == (120, None)
    assert Queue.objects.get(pk=queue.pk).service_level == level
    assert Queue.objects.get(pk=other.pk).service_level is None
    response = client.post(
        reverse("admin:helpline_servicelevel_change", args=[level.pk]),
        {
            "calendar": str(level.calendar_id),
            "first_response_minutes": "60",
            "update_minutes": "",
            "solution_minutes": "",
            "warning_minutes": "30",
            "queues": [str(other.pk)],
            "comment": "",
        },
    )
    assert response.status_code == 302
    assert Queue.objects.get(pk=queue.pk).service_level is None
    assert Queue.objects.get(pk=other.pk).service_level == level
    assert ServiceLevel.objects.get().solution_minutes is None
