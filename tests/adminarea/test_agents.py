"""Invitations, deactivation and last activity (helpline.actions.invitations,
agent_admin, responses.invitation)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from helpline.actions import admin, agent_admin, invitations
from helpline.actions.access import may_in_queue
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import AdminAuditEntry, AgentSession, Grant, Permission
from helpline.responses import invitation
from tests.auth_sessions import reset_mails, text_of
from tests.support import make_agent, make_group, make_queue
from tests.web import PASSWORD, web_settings

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a long new password for the invitee"


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def boss():
    return make_agent("boss", is_admin=True)


def token_in(raw: bytes) -> str:
    match = re.search(r"/invitation/([^/\s]+)/", text_of(raw))
    assert match is not None
    return match.group(1)


def test_invite_creates_grants_and_mails_a_single_use_link(boss):
    group = make_group("Support")
    queue = make_queue("Info", group=group)
    agent = invitation.invite(
        boss, login="new", email="new@example.org", grants=[(group.pk, "rw")]
    )
    assert not agent.has_usable_password()
    assert Grant.objects.filter(agent=agent, group=group, permission="rw").exists()
    assert AdminAuditEntry.objects.filter(action="invited", actor_name="boss").exists()
    [raw] = reset_mails("new@example.org")
    assert "7 days" in text_of(raw)
    token = token_in(raw)
    assert invitations.agent_for_token(token) == agent
    invitations.accept_invitation(token, NEW_PASSWORD)
    agent.refresh_from_db()
    assert agent.check_password(NEW_PASSWORD)
    assert may_in_queue(agent, queue, Permission.RW)
    with pytest.raises(NotFound):  # used
        invitations.accept_invitation(token, "another long password here")


def test_the_link_expires_and_cannot_be_forged(boss, settings, monkeypatch):
    agent = invitation.invite(boss, login="new", email="new@example.org")
    token = token_in(reset_mails("new@example.org")[0])
    for bad in ("x", token[:-2] + "zz", signing.dumps({"a": agent.pk}, salt="other")):
        with pytest.raises(NotFound):
            invitations.agent_for_token(bad)
    settings.HELPLINE_INVITATION_DAYS = 0
    with pytest.raises(NotFound):
        invitations.agent_for_token(token)
    settings.HELPLINE_INVITATION_DAYS = 7
    assert invitations.agent_for_token(token) == agent
    admin.set_agent_active(boss, agent, active=False)
    with pytest.raises(NotFound):  # deactivated meanwhile
        invitations.agent_for_token(token)


def test_only_administrators_invite(boss):
    group = make_group("Support")
    lead = make_agent("lead")
    admin.grant(group, [Permission.MANAGE], agent=lead)
    for actor in (lead, make_agent("plain"), None):
        with pytest.raises(PermissionDenied):
            invitation.invite(actor, login="x", email="x@example.org")
    assert not reset_mails("x@example.org")
    with pytest.raises(InvalidInput):
        invitation.invite(boss, login="y", email="not an address")
    assert not reset_mails("not an address")


def test_deactivate_ends_sessions_and_reactivate(boss, client):
    alice = make_agent("alice", password=PASSWORD)
    client.force_login(alice)
    assert AgentSession.objects.filter(agent=alice, ended__isnull=True).exists()
    with pytest.raises(PermissionDenied):
        agent_admin.set_active(alice, boss.pk, active=False)
    agent_admin.set_active(boss, alice.pk, active=False)
    alice.refresh_from_db()
    assert not alice.is_active
    assert not AgentSession.objects.filter(agent=alice, ended__isnull=True).exists()
    assert client.get("/").status_code == 302  # logged out
    agent_admin.set_active(boss, alice.pk, active=True)
    alice.refresh_from_db()
    assert alice.is_active


def test_last_activity_and_the_inactive_report(boss, django_assert_max_num_queries):
    old, fresh, never = make_agent("old"), make_agent("fresh"), make_agent("never")
    now = timezone.now()
    for agent, when in ((old, now - datetime.timedelta(days=200)), (fresh, now)):
        AgentSession.objects.create(
            agent=agent, key_hash=f"h{agent.pk}", created=when, last_seen=when
        )
    type(old).objects.filter(pk=old.pk).update(
        last_login=now - datetime.timedelta(days=300)
    )
    for i in range(20):
        make_agent(f"extra{i}")
    with django_assert_max_num_queries(3):
        page = agent_admin.list_agents(boss, inactive_months=3)
    names = [r.agent.username for r in page.rows]
    assert "old" in names and "never" in names and "fresh" not in names
    assert (
        agent_admin.last_activity(old).date()
        == (now - datetime.timedelta(days=200)).date()
    )
    assert agent_admin.last_activity(never) is None
    with pytest.raises(InvalidInput):
        agent_admin.list_agents(boss, inactive_months=0)
    with pytest.raises(PermissionDenied):
        agent_admin.list_agents(old)


def test_pages(boss, client):
    client.force_login(boss)
    group = make_group("Support")
    response = client.post(
        reverse("admin-agents-invite"),
        {"login": "new", "email": "new@example.org", f"group-{group.pk}": "ro"},
    )
    assert response.status_code == 302
    assert "new" in client.get(reverse("admin-agents")).content.decode()
    bad = client.post(reverse("admin-agents-invite"), {"login": "", "email": "x"})
    assert bad.status_code == 400
    assert client.get(reverse("admin-agents"), {"inactive": "0"}).status_code == 400
    client.logout()
    token = token_in(reset_mails("new@example.org")[0])
    url = reverse("invitation", args=[token])
    assert client.get(url).status_code == 200
    short = client.post(url, {"new_password1": "x", "new_password2": "x"})
    assert short.status_code == 400
    done = client.post(
        url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert client.get(url).status_code == 404
    plain = make_agent("plain")
    client.force_login(plain)
    assert client.get(reverse("admin-agents")).status_code == 403
    assert client.get(reverse("admin-agents-invite")).status_code == 403
    post = client.post(reverse("admin-agent-active", args=[boss.pk]), {"active": "0"})
    assert post.status_code == 403
