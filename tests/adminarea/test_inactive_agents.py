"""The optional job that deactivates inactive agents: off by default, a warning
through the outbox first, the deactivation after the grace period, nothing for an
agent who came back (helpline.responses.inactivity, actions.agent_admin)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from helpline import jobs
from helpline.actions import agent_admin
from helpline.models import AdminAuditEntry, AgentProfile, AgentSession
from helpline.responses import inactivity
from tests.auth_sessions import reset_mails, text_of
from tests.support import make_agent

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def seen(agent, when):
    AgentSession.objects.create(
        agent=agent,
        key_hash=f"k{agent.pk}{when.timestamp()}",
        created=when,
        last_seen=when,
    )


@pytest.fixture
def agents():
    now = timezone.now()
    away, here = make_agent("away"), make_agent("here")
    boss = make_agent("boss", is_admin=True)
    seen(away, now - 200 * DAY)
    seen(here, now - 2 * DAY)
    type(boss).objects.filter(pk=boss.pk).update(last_login=now - 400 * DAY)
    return away, here, boss


def test_off_by_default(agents, settings):
    assert settings.HELPLINE_DEACTIVATE_INACTIVE_MONTHS == 0
    assert inactivity.run() == {"warned": 0, "deactivated": 0, "cleared": 0}
    assert jobs.inactive_agents_job.call_local() == {
        "warned": 0,
        "deactivated": 0,
        "cleared": 0,
    }
    assert not reset_mails("away@example.org")


def test_warn_then_deactivate_after_the_grace_period(agents, settings):
    away, here, boss = agents
    settings.HELPLINE_DEACTIVATE_INACTIVE_MONTHS = 3
    settings.HELPLINE_INACTIVE_GRACE_DAYS = 14
    assert inactivity.run()["warned"] == 1  # not the administrator, not "here"
    [raw] = reset_mails("away@example.org")
    assert "14 days" in text_of(raw)
    assert not reset_mails("boss@example.org")
    # Run again the same day: no second mail, no deactivation yet.
    assert inactivity.run() == {"warned": 0, "deactivated": 0, "cleared": 0}
    assert len(reset_mails("away@example.org")) == 1
    # After the grace period.
    later = timezone.now() + 15 * DAY
    found = agent_admin.inactive_round(months=3, grace_days=14, now=later)
    assert found.deactivated == ["away"]
    away.refresh_from_db()
    assert not away.is_active
    assert AdminAuditEntry.objects.filter(
        action="deactivated for inactivity", object_repr="away"
    ).exists()
    here.refresh_from_db()
    boss.refresh_from_db()
    assert here.is_active and boss.is_active


def test_an_agent_who_comes_back_is_not_deactivated(agents, settings):
    away, _here, _boss = agents
    settings.HELPLINE_DEACTIVATE_INACTIVE_MONTHS = 3
    inactivity.run()
    assert AgentProfile.objects.get(user=away).inactivity_warned is not None
    seen(away, timezone.now() + DAY)  # logs in after the warning
    found = agent_admin.inactive_round(
        months=3, grace_days=14, now=timezone.now() + 15 * DAY
    )
    assert found.deactivated == [] and found.cleared == 1
    away.refresh_from_db()
    assert away.is_active
    assert AgentProfile.objects.get(user=away).inactivity_warned is None
