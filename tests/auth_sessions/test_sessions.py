"""Agents' sessions: recorded at login, listed, ended, timed out (idle, absolute)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpline.actions import admin
from helpline.actions.api_tokens import authenticate_token, create_token
from helpline.actions.sessions import hash_key, summarise_user_agent
from helpline.models import AdminAuditEntry, AgentSession
from tests.auth_sessions import CHROME_WINDOWS, FIREFOX, log_in
from tests.cli import run


def _logged_in(client):
    return client.get(reverse("dashboard")).status_code == 200


def test_a_login_records_the_session_by_the_hash_of_its_key(client, world):
    log_in(client, "alice", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="192.0.2.7")
    key = client.session.session_key
    [row] = AgentSession.objects.filter(agent=world.alice)
    assert row.key_hash == hash_key(key) != key
    assert not AgentSession.objects.filter(key_hash=key).exists()
    assert (row.user_agent, row.ip, row.ended) == (
        "Firefox on Linux",
        "192.0.2.7",
        None,
    )


def test_behind_the_proxy_the_address_is_the_one_the_proxy_added(
    client, world, settings
):
    settings.HELPLINE_BEHIND_HTTPS_PROXY = True
    log_in(
        client,
        "alice",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4",
        HTTP_X_FORWARDED_PROTO="https",
        secure=True,
    )
    assert AgentSession.objects.get(agent=world.alice).ip == "198.51.100.4"


def test_user_agents_are_summarised_for_people():
    assert summarise_user_agent(CHROME_WINDOWS) == "Chrome on Windows"
    assert summarise_user_agent("curl/8.5.0") == "curl"
    assert summarise_user_agent("") == ""


def test_the_sessions_page_lists_each_session_and_marks_this_one(world):
    laptop, phone = Client(), Client()
    log_in(laptop, "alice", HTTP_USER_AGENT=FIREFOX)
    log_in(phone, "alice", HTTP_USER_AGENT=CHROME_WINDOWS)
    log_in(Client(), "bob")
    page = laptop.get(reverse("sessions"))
    assert page.status_code == 200
    rows = page.context["sessions"]
    shown = {r["row"].user_agent: r["current"] for r in rows}
    assert shown == {"Chrome on Windows": False, "Firefox on Linux": True}
    assert "Firefox on Linux" in page.content.decode()


def test_ending_another_session_logs_it_out_at_its_next_request(world):
    laptop, phone = Client(), Client()
    log_in(laptop, "alice")
    log_in(phone, "alice")
    other = AgentSession.objects.get(key_hash=hash_key(phone.session.session_key))
    response = laptop.post(reverse("sessions"), {"end": other.pk})
    assert response.status_code == 302
    assert _logged_in(laptop)
    assert not _logged_in(phone)
    other.refresh_from_db()
    assert other.ended is not None and other.end_reason == "ended by the agent"


def test_an_agent_cannot_end_someone_elses_session(world):
    alice, bob = Client(), Client()
    log_in(alice, "alice")
    log_in(bob, "bob")
    bobs = AgentSession.objects.get(agent=world.bob)
    response = alice.post(reverse("sessions"), {"end": bobs.pk})
    assert response.status_code == 404
    assert _logged_in(bob)


def test_end_all_others_keeps_only_this_session(world):
    here, *others = Client(), Client(), Client()
    for c in (here, *others):
        log_in(c, "alice")
    here.post(reverse("sessions"), {"end_others": "1"})
    assert _logged_in(here)
    assert not any(_logged_in(c) for c in others)
    assert AgentSession.objects.filter(agent=world.alice, ended=None).count() == 1


def test_logging_out_ends_the_session_row(client, world):
    log_in(client, "alice")
    client.post(reverse("logout"))
    assert AgentSession.objects.get(agent=world.alice).end_reason == "logout"


def test_an_idle_session_ends(client, world, settings):
    settings.HELPLINE_SESSION_IDLE_MINUTES = 30
    log_in(client, "alice")
    row = AgentSession.objects.get(agent=world.alice)
    AgentSession.objects.filter(pk=row.pk).update(
        last_seen=timezone.now() - timedelta(minutes=29)
    )
    assert _logged_in(client)  # and last_seen is now
    AgentSession.objects.filter(pk=row.pk).update(
        last_seen=timezone.now() - timedelta(minutes=32)
    )
    assert not _logged_in(client)
    row.refresh_from_db()
    assert row.end_reason == "idle timeout"


def test_a_session_ends_after_the_absolute_limit_however_busy(client, world, settings):
    settings.SESSION_COOKIE_AGE = 3600
    log_in(client, "alice")
    AgentSession.objects.filter(agent=world.alice).update(
        created=timezone.now() - timedelta(minutes=61)
    )
    assert not _logged_in(client)
    assert AgentSession.objects.get(agent=world.alice).end_reason == "absolute timeout"


def test_last_seen_is_written_at_most_once_a_minute_and_costs_no_query(client, world):
    log_in(client, "alice")
    client.get(reverse("dashboard"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    session_queries = [q["sql"] for q in queries if "agent_session" in q["sql"]]
    # Read inside the session's own query, never written within the minute.
    assert len(session_queries) == 1
    assert session_queries[0].lstrip().upper().startswith("SELECT")
    assert "django_session" in session_queries[0]
    AgentSession.objects.update(last_seen=timezone.now() - timedelta(minutes=2))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("dashboard"))
    assert [
        q
        for q in queries
        if q["sql"].lstrip().upper().startswith("UPDATE")
        and "agent_session" in q["sql"]
    ]
    assert timezone.now() - AgentSession.objects.get().last_seen < timedelta(minutes=1)


def test_a_session_from_before_recording_is_adopted(client, world):
    log_in(client, "alice")
    AgentSession.objects.all().delete()
    assert _logged_in(client)
    assert AgentSession.objects.filter(
        agent=world.alice, key_hash=hash_key(client.session.session_key)
    ).exists()


def test_logout_all_ends_every_session_and_revokes_every_token(world):
    one, two = Client(), Client()
    log_in(one, "alice")
    log_in(two, "alice")
    token = create_token(world.alice, name="script")
    out = run("agent", "logout-all", "alice")
    assert "2 session(s) ended, 1 API token(s) revoked" in out
    assert not _logged_in(one) and not _logged_in(two)
    assert authenticate_token(token.secret) is None
    entry = AdminAuditEntry.objects.get(action="logged out everywhere")
    assert entry.after == {"sessions ended": 2, "tokens revoked": 1}
    # A new login works again.
    log_in(one, "alice")
    assert _logged_in(one)


def test_the_admin_action_logs_an_agent_out_everywhere(world):
    boss = admin.create_agent(
        "boss", email="boss@example.org", password="a boss's long pass", is_admin=True
    )
    console, victim = Client(), Client()
    log_in(console, "boss", "a boss's long pass")
    log_in(victim, "alice")
    response = console.post(
        reverse("admin:helpline_agentaccount_changelist"),
        {"action": "log_out_everywhere", "_selected_action": [world.alice.pk]},
    )
    assert response.status_code == 302
    assert not _logged_in(victim)
    assert _logged_in(console)
    entry = AdminAuditEntry.objects.get(action="logged out everywhere")
    assert entry.actor == boss


@pytest.mark.parametrize("how", ["cli", "action"])
def test_deactivating_an_agent_ends_its_sessions(world, how):
    session = Client()
    log_in(session, "alice")
    if how == "cli":
        run("agent", "deactivate", "alice")
    else:
        admin.set_agent_active(None, world.alice, active=False)
    assert not _logged_in(session)
    row = AgentSession.objects.get(agent=world.alice)
    assert row.end_reason == "agent deactivated"
    # Activated again, the old session stays dead.
    admin.set_agent_active(None, world.alice, active=True)
    assert not _logged_in(session)


def _dashboard_queries(client):
    client.get(reverse("dashboard"))  # first request: the minute's write, if any
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    return len(queries)


def test_recording_sessions_adds_no_query_to_a_request(world, settings):
    """Measured against Django's own database sessions without the middleware."""
    client = Client()
    log_in(client, "alice")
    with_recording = _dashboard_queries(client)
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.MIDDLEWARE = [
        m
        for m in settings.MIDDLEWARE
        if m != "helpline.web.sessions.AgentSessionMiddleware"
    ]
    plain = Client()
    log_in(plain, "alice")
    without = _dashboard_queries(plain)
    print(
        f"dashboard queries: {with_recording} with sessions recorded, {without} without"
    )
    assert with_recording == without


def test_the_daily_job_forgets_old_sessions(world):
    from helpline.jobs import purge_sessions_job

    old, recent, running = Client(), Client(), Client()
    for c in (old, recent, running):
        log_in(c, "alice")
    old_key = old.session.session_key
    for c in (old, recent):
        c.post(reverse("logout"))
    long_ago = timezone.now() - timedelta(days=31)
    AgentSession.objects.filter(key_hash=hash_key(old_key)).update(ended=long_ago)
    AgentSession.objects.filter(ended__isnull=False).exclude(ended=long_ago).update(
        ended=timezone.now() - timedelta(days=29)
    )
    purge_sessions_job.call_local()
    left = AgentSession.objects.filter(agent=world.alice)
    assert left.count() == 2
    assert left.filter(ended=None).count() == 1
    assert _logged_in(running)
