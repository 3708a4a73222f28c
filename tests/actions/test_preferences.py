"""An agent's own preferences (helpline.actions.preferences)."""

from __future__ import annotations

import logging

import pytest

from helpline.actions import admin
from helpline.actions.events import Event
from helpline.actions.preferences import (
    Preferences,
    get_preferences,
    set_preferences,
)
from helpline.errors import InvalidInput
from helpline.models import AgentProfile, Permission
from tests.support import make_agent, make_group, make_queue


@pytest.fixture
def setup(db):
    support = make_group("Support")
    info = make_queue("Info", group=support)
    sub = make_queue("Info::Sub", group=support)
    secret = make_queue("Secret", group=make_group("Secret"))
    alice = make_agent("alice")
    admin.grant(support, [Permission.RO], agent=alice)
    return alice, info, sub, secret


DEFAULTS = Preferences("en", "", "newest", frozenset(), frozenset())


def profile_of(agent):
    return AgentProfile.objects.get(user=agent)


def test_every_preference_is_saved_and_returned(setup):
    alice, info, sub, _secret = setup
    saved = set_preferences(
        alice,
        language="de",
        article_order="oldest",
        followed_queue_ids=[sub.pk],
        notifications_off=[Event.FOLLOW_UP.value, Event.MOVED.value],
    )
    assert saved == get_preferences(alice)
    assert saved.language == "de"
    assert saved.article_order == "oldest"
    assert saved.followed_queue_ids == {sub.pk}
    assert saved.notifications_off == {"follow_up", "moved"}
    profile = profile_of(alice)
    assert list(profile.followed_queues.all()) == [sub]
    assert profile.notifications_off == ["follow_up", "moved"]


def test_a_preference_not_given_is_left_as_it_is(setup):
    alice, info, sub, _secret = setup
    set_preferences(alice, language="de", followed_queue_ids=[info.pk, sub.pk])
    saved = set_preferences(alice, article_order="oldest")
    assert saved.language == "de"
    assert saved.followed_queue_ids == {info.pk, sub.pk}
    set_preferences(alice, followed_queue_ids=[])
    assert not profile_of(alice).followed_queues.exists()
    assert profile_of(alice).article_order == "oldest"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("language", "xx", "Unknown language 'xx'"),
        ("language", "", "Unknown language ''"),
        ("article_order", "random", "Unknown article order 'random'"),
        ("notifications_off", ["new_ticket", "gossip"], "gossip"),
    ],
)
def test_invalid_values_are_refused_and_nothing_changes(setup, field, value, message):
    alice, info, _sub, _secret = setup
    with pytest.raises(InvalidInput, match=message):
        set_preferences(alice, followed_queue_ids=[info.pk], **{field: value})
    assert get_preferences(alice) == DEFAULTS
    assert not profile_of(alice).followed_queues.exists()


def test_only_queues_the_agent_may_read_can_be_followed(setup):
    alice, info, _sub, secret = setup
    with pytest.raises(InvalidInput, match=f"not: {secret.pk}"):
        set_preferences(alice, followed_queue_ids=[info.pk, secret.pk])
    with pytest.raises(InvalidInput, match="not: 987654"):
        set_preferences(alice, followed_queue_ids=[987654])
    assert not profile_of(alice).followed_queues.exists()


def test_an_invalid_queue_is_refused_too_even_if_read_access_ends(setup):
    alice, info, _sub, _secret = setup
    set_preferences(alice, followed_queue_ids=[info.pk])
    admin.revoke(info.group, [Permission.RO], agent=alice)
    with pytest.raises(InvalidInput):
        set_preferences(alice, followed_queue_ids=[info.pk])


def test_an_agent_without_a_profile_has_the_defaults_and_gets_one_on_saving(setup):
    alice = setup[0]
    AgentProfile.objects.filter(user=alice).delete()
    assert get_preferences(alice) == DEFAULTS
    assert not AgentProfile.objects.filter(user=alice).exists()
    set_preferences(alice, article_order="oldest")
    assert profile_of(alice).article_order == "oldest"


def test_each_change_is_audited_with_old_and_new_values(setup, caplog):
    alice, info, _sub, _secret = setup
    caplog.set_level(logging.INFO, logger="helpline.audit")
    set_preferences(alice, language="de", article_order="newest")
    set_preferences(alice, followed_queue_ids=[info.pk])
    lines = [r.getMessage() for r in caplog.records if r.name == "helpline.audit"]
    assert lines == [
        "agent alice changed preference language: en -> de",
        f"agent alice changed preference followed_queues: [] -> [{info.pk}]",
    ]
    caplog.clear()
    set_preferences(alice, language="de", followed_queue_ids=[info.pk])
    assert [r for r in caplog.records if r.name == "helpline.audit"] == []
