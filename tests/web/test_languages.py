"""Languages, right to left and the agent's own time zone on the pages
(docs/web.md, "Languages")."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import get_language_info

from helpline.actions.events import Event
from helpline.actions.preferences import get_preferences, set_preferences
from helpline.errors import InvalidInput
from helpline.models import AgentProfile, Ticket
from tests.web import build_world, web_settings

# The languages the issue asks for, besides English (Django's codes).
WANTED = {"de", "ar", "he", "uk", "ja", "zh-hans", "ru", "es", "fr", "pt", "it"}
WANTED |= {"pl", "nl"}


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


def save(client, **fields):
    data = {
        "language": "en",
        "time_zone": "",
        "article_order": "newest",
        "followed_queues": [],
        "notifications": [e.value for e in Event],
        **fields,
    }
    return client.post(reverse("preferences"), data)


def _plain(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    ).casefold()


def test_fourteen_languages_are_offered_each_by_its_own_name():
    codes = [code for code, _name in settings.LANGUAGES]
    assert codes[0] == "en"
    assert set(codes) - {"en"} == WANTED
    for code, name in settings.LANGUAGES:
        # The language's name in itself (as Django knows it, capitalised for a list
        # and without the vowel marks Django writes in Arabic), so that a reader
        # finds theirs whatever language the page is in.
        local = get_language_info(code)["name_local"]
        assert _plain(name) == _plain(local), code
    with translation.override("de"):
        assert dict(settings.LANGUAGES)["ar"] == "العربية"


def test_the_picker_marks_each_option_with_its_language_and_direction(client, world):
    client.force_login(world.alice)
    html = client.get(reverse("preferences")).content.decode()
    assert re.search(
        r'<option value="ar" lang="ar" dir="rtl"[^>]*>العربية</option>', html
    )
    assert re.search(
        r'<option value="he" lang="he" dir="rtl"[^>]*>עברית</option>', html
    )
    assert re.search(
        r'<option value="ja" lang="ja" dir="ltr"[^>]*>日本語</option>', html
    )


@pytest.mark.parametrize(
    ("language", "direction"),
    [("en", "ltr"), ("de", "ltr"), ("ar", "rtl"), ("he", "rtl")],
)
def test_the_page_says_its_language_and_direction(client, world, language, direction):
    client.force_login(world.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get(reverse("dashboard")).content.decode()
    assert f'<html lang="{language}" dir="{direction}">' in html


def test_an_agent_chooses_a_time_zone_on_the_preferences_page(client, world):
    client.force_login(world.alice)
    assert save(client, time_zone="Asia/Tokyo").status_code == 302
    assert AgentProfile.objects.get(user=world.alice).time_zone == "Asia/Tokyo"
    form = client.get(reverse("preferences")).context["form"]
    assert form.initial["time_zone"] == "Asia/Tokyo"
    assert save(client, time_zone="").status_code == 302
    assert AgentProfile.objects.get(user=world.alice).time_zone == ""


def test_an_unknown_time_zone_is_a_form_error(client, world):
    client.force_login(world.alice)
    response = save(client, time_zone="Mars/Olympus_Mons")
    assert response.status_code == 200
    assert "time_zone" in response.context["form"].errors
    assert AgentProfile.objects.get(user=world.alice).time_zone == ""


def test_the_action_checks_the_time_zone_too(world):
    with pytest.raises(InvalidInput, match="Mars/Olympus_Mons"):
        set_preferences(world.alice, time_zone="Mars/Olympus_Mons")
    assert set_preferences(world.alice, time_zone=" Europe/Berlin ").time_zone == (
        "Europe/Berlin"
    )
    assert get_preferences(world.alice).time_zone == "Europe/Berlin"


def _created_at(ticket: Ticket, hour: int) -> None:
    when = timezone.now().replace(hour=hour, minute=7, second=0, microsecond=0)
    Ticket.objects.filter(pk=ticket.pk).update(created=when - timedelta(days=2))


def test_the_zoom_shows_times_in_the_agents_time_zone_and_language(client, world):
    """Created 2 days ago at 10:07 UTC: 19:07 in Tokyo, written the German way;
    the machine-readable time stays ISO with its offset."""
    _created_at(world.ticket, 10)
    created = Ticket.objects.get(pk=world.ticket.pk).created
    AgentProfile.objects.filter(user=world.alice).update(
        time_zone="Asia/Tokyo", language="de"
    )
    client.force_login(world.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    html = client.get(reverse("zoom", args=[world.ticket.number])).content.decode()
    tokyo = created.astimezone(timezone.get_fixed_timezone(9 * 60))
    with translation.override("de"):
        expected = formats.date_format(tokyo, "DATETIME_FORMAT")
    assert expected.endswith(" 19:07")
    assert f'title="{expected}"' in html  # "Created", with its date as a tooltip
    assert "10:07" not in html
    article = world.ticket.articles.first()
    iso = article.created.astimezone(tokyo.tzinfo).isoformat()
    assert f'datetime="{iso}"' in html


def test_without_a_time_zone_of_its_own_the_site_s_applies(client, world):
    _created_at(world.ticket, 10)
    client.force_login(world.alice)
    html = client.get(reverse("queue", args=[world.ticket.queue_id])).content.decode()
    created = Ticket.objects.get(pk=world.ticket.pk).created
    assert settings.TIME_ZONE == "UTC"
    assert f'title="{created:%m/%d/%Y} 10:07 a.m."' in html


def test_the_time_zone_costs_no_query(client, world):
    """The zone is read with the session (helpline/web/sessions.py)."""
    client.force_login(world.alice)
    url = reverse("queue", args=[world.ticket.queue_id])
    client.get(url)
    with CaptureQueriesContext(connection) as plain:
        client.get(url)
    AgentProfile.objects.filter(user=world.alice).update(time_zone="Asia/Tokyo")
    with CaptureQueriesContext(connection) as zoned:
        html = client.get(url).content.decode()
    assert len(zoned) == len(plain)
    assert "p.m." in html or "a.m." in html  # English still, in Tokyo time
    created = timezone.localtime(
        Ticket.objects.get(pk=world.ticket.pk).created,
        timezone.get_fixed_timezone(9 * 60),
    )
    assert f'title="{created:%m/%d/%Y} ' in html


def test_the_zone_does_not_stay_for_the_next_request(client, world):
    AgentProfile.objects.filter(user=world.alice).update(time_zone="Asia/Tokyo")
    client.force_login(world.alice)
    client.get(reverse("dashboard"))
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


def test_the_api_answers_in_utc_whatever_the_agents_zone(client, world):
    """The API is for programs: ISO 8601 in UTC, never the agent's clock, even when
    the page's session calls it."""
    AgentProfile.objects.filter(user=world.alice).update(time_zone="Asia/Tokyo")
    client.force_login(world.alice)
    response = client.get(f"/api/v1/tickets/{world.ticket.number}")
    assert response.status_code == 200
    created = response.json()["created"]
    assert created.endswith(("Z", "+00:00")), created
