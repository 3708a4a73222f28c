"""The agent's preferences: language, article order, followed queues, notifications."""

from __future__ import annotations

import logging
import re

import pytest
from django.urls import reverse

from helpline.actions.events import Event
from helpline.models import AgentProfile
from tests.web import build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def save(client, **fields):
    data = {
        "language": "en",
        "article_order": "newest",
        "followed_queues": [],
        "notifications": [e.value for e in Event],
        **fields,
    }
    return client.post(reverse("preferences"), data)


def test_the_form_shows_the_current_preferences(alice_client, world):
    form = alice_client.get(reverse("preferences")).context["form"]
    assert form.initial["language"] == "en"
    assert set(form.initial["notifications"]) == {e.value for e in Event}
    queues = {q.name for q in form.fields["followed_queues"].queryset}
    assert queues == {"Info", "Info::Sub"}


def test_saving_preferences(alice_client, world):
    response = save(
        alice_client,
        language="de",
        article_order="oldest",
        followed_queues=[world.sub.pk],
        notifications=[Event.NEW_TICKET.value, Event.OWNER.value],
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "de"
    profile = AgentProfile.objects.get(user=world.alice)
    assert profile.language == "de"
    assert profile.article_order == "oldest"
    assert list(profile.followed_queues.all()) == [world.sub]
    assert Event.FOLLOW_UP.value in profile.notifications_off
    assert Event.NEW_TICKET.value not in profile.notifications_off
    page = alice_client.get(reverse("preferences"))
    assert b"Ihre Einstellungen wurden gespeichert." in page.content
    assert b"Einstellungen" in page.content


def test_a_queue_the_agent_may_not_read_cannot_be_followed(alice_client, world):
    response = save(alice_client, followed_queues=[world.secret.pk])
    assert response.status_code == 200
    assert "followed_queues" in response.context["form"].errors
    assert not AgentProfile.objects.get(user=world.alice).followed_queues.exists()


def test_an_agent_without_a_profile_sees_the_defaults_and_saving_creates_it(
    client, world
):
    AgentProfile.objects.filter(user=world.bob).delete()
    client.force_login(world.bob)
    form = client.get(reverse("preferences")).context["form"]
    assert form.initial["article_order"] == "newest"
    assert client.get(reverse("zoom", args=[world.ticket.number])).status_code == 200
    assert save(client, article_order="oldest").status_code == 302
    assert AgentProfile.objects.get(user=world.bob).article_order == "oldest"


def test_saving_goes_through_the_action_which_audits_it(alice_client, world, caplog):
    caplog.set_level(logging.INFO, logger="helpline.audit")
    save(alice_client, followed_queues=[world.info.pk])
    assert (
        f"agent alice changed preference followed_queues: [] -> [{world.info.pk}]"
        in [r.getMessage() for r in caplog.records]
    )
    page = alice_client.get(reverse("preferences"))
    assert page.context["form"].initial["followed_queues"] == [world.info.pk]
    boxes = re.findall(
        r'<input type="checkbox" name="followed_queues"[^>]*>', page.text
    )
    checked = [box for box in boxes if " checked" in box]
    assert len(boxes) == 2
    assert checked == [b for b in boxes if f'value="{world.info.pk}"' in b]
