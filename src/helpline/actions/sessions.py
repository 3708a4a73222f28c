"""Agents' sessions: recorded at login, listed, ended by their agent or an
administrator, and refused once idle or too old (docs/authentication.md).

A session is known by the SHA-256 of its key (``key_hash``); the key itself is only
in the agent's cookie and Django's session store.  Ending a session marks its row
ended: the session store reads that row with the session (``helpline.web.sessions``)
and refuses the session on its next request.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from helpline.errors import NotFound
from helpline.models import AgentSession, ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

audit = logging.getLogger("helpline.audit")

# last_seen is written at most this often per session: not one UPDATE per request.
SEEN_PRECISION = timedelta(minutes=1)


class EndReason:
    LOGOUT = "logout"
    BY_AGENT = "ended by the agent"
    BY_ADMIN = "ended by an administrator"
    DEACTIVATED = "agent deactivated"
    PASSWORD = "password changed"  # noqa: S105 - a reason, not a secret
    IDLE = "idle timeout"
    ABSOLUTE = "absolute timeout"


def hash_key(session_key: str) -> str:
    return hashlib.sha256(session_key.encode("utf-8")).hexdigest()


def idle_limit() -> timedelta | None:
    minutes = int(getattr(settings, "HELPLINE_SESSION_IDLE_MINUTES", 0))
    return timedelta(minutes=minutes) if minutes > 0 else None


def absolute_limit() -> timedelta:
    return timedelta(seconds=int(settings.SESSION_COOKIE_AGE))


def expiry_reason(created: datetime, last_seen: datetime, now: datetime) -> str | None:
    """Why a session recorded at ``created`` and last seen at ``last_seen`` is no
    longer in force at ``now``; None while it is."""
    if now - created >= absolute_limit():
        return EndReason.ABSOLUTE
    idle = idle_limit()
    # last_seen is written once a minute: a session is idle only past that slack.
    if idle is not None and now - last_seen >= idle + SEEN_PRECISION:
        return EndReason.IDLE
    return None


def summarise_user_agent(user_agent: str) -> str:
    """ "Firefox on Linux" from a browser's User-Agent header (the raw header is
    long and says little to a person); the header itself, cut, when unknown."""
    browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    systems = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    browser = next((name for mark, name in browsers if mark in user_agent), "")
    system = next((name for mark, name in systems if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return (browser or system or user_agent.strip())[:200]


def do_record_login(
    agent: Agent, session_key: str, *, user_agent: str, ip: str
) -> AgentSession:
    """Record a new session of ``agent`` (called when it logs in)."""
    now = timezone.now()
    row, _created = AgentSession.objects.update_or_create(
        key_hash=hash_key(session_key),
        defaults={
            "agent": agent,
            "user_agent": summarise_user_agent(user_agent),
            "ip": ip[:64],
            "created": now,
            "last_seen": now,
            "ended": None,
            "end_reason": "",
        },
    )
    return row


def do_rekey(old_key: str, new_key: str) -> None:
    """The session got a new key (Django cycles it when the password changes)."""
    AgentSession.objects.filter(key_hash=hash_key(old_key)).update(
        key_hash=hash_key(new_key)
    )


def do_touch(session_id: int, *, ip: str) -> None:
    """The session was used now (once a minute at most: ``SEEN_PRECISION``)."""
    AgentSession.objects.filter(pk=session_id, ended__isnull=True).update(
        last_seen=timezone.now(), ip=ip[:64]
    )


def do_end_by_key(session_key: str, *, reason: str) -> None:
    AgentSession.objects.filter(
        key_hash=hash_key(session_key), ended__isnull=True
    ).update(ended=timezone.now(), end_reason=reason)


def get_sessions(agent: Agent) -> list[AgentSession]:
    """The agent's sessions in force, the most recently used first."""
    now = timezone.now()
    rows = AgentSession.objects.filter(agent=agent, ended__isnull=True).order_by(
        "-last_seen", "-id"
    )
    return [r for r in rows if expiry_reason(r.created, r.last_seen, now) is None]


@dataclass(frozen=True)
class Ended:
    sessions: int
    tokens: int


def end_session(agent: Agent, session_id: int) -> None:
    """End one of ``agent``'s own sessions."""
    done = AgentSession.objects.filter(
        pk=session_id, agent=agent, ended__isnull=True
    ).update(ended=timezone.now(), end_reason=EndReason.BY_AGENT)
    if not done:
        raise NotFound(f"No session {session_id} in force.")
    audit.info("session %s of %s ended by its agent", session_id, agent.get_username())


def end_other_sessions(
    agent: Agent, *, keep_key: str, reason: str = EndReason.BY_AGENT
) -> int:
    """End every session of ``agent`` but the one with key ``keep_key``."""
    done = (
        AgentSession.objects.filter(agent=agent, ended__isnull=True)
        .exclude(key_hash=hash_key(keep_key))
        .update(ended=timezone.now(), end_reason=reason)
    )
    audit.info("%s ended %d other session(s)", agent.get_username(), done)
    return done


def do_end_all(agent: Agent, *, reason: str, revoke_tokens: bool = False) -> Ended:
    """End every session of ``agent`` (and revoke its API tokens); no log entry:
    the caller's action writes it."""
    now = timezone.now()
    sessions = AgentSession.objects.filter(agent=agent, ended__isnull=True).update(
        ended=now, end_reason=reason
    )
    tokens = 0
    if revoke_tokens:
        tokens = ApiToken.objects.filter(agent=agent, revoked__isnull=True).update(
            revoked=now
        )
    return Ended(sessions=sessions, tokens=tokens)


def log_out_everywhere(actor: Agent | None, agent: Agent) -> Ended:
    """An administrator's "log out everywhere": every session of ``agent`` ends and
    every API token of it is revoked, at once; written to the administration log."""
    from helpline.actions.admin import record

    with transaction.atomic():
        ended = do_end_all(agent, reason=EndReason.BY_ADMIN, revoke_tokens=True)
        record(
            actor,
            "logged out everywhere",
            agent,
            object_type="agent",
            after={"sessions ended": ended.sessions, "tokens revoked": ended.tokens},
        )
    audit.info(
        "%s logged out everywhere: %d session(s), %d token(s)",
        agent.get_username(),
        ended.sessions,
        ended.tokens,
    )
    return ended


# Ended sessions are kept this long (who was logged in from where), then forgotten.
KEEP_ENDED = timedelta(days=30)


def purge_sessions(*, now: datetime | None = None) -> int:
    """Forget sessions ended more than ``KEEP_ENDED`` ago and Django's expired
    session rows; returns how many agent sessions were forgotten."""
    from django.contrib.sessions.models import Session

    now = now or timezone.now()
    Session.objects.filter(expire_date__lt=now).delete()
    forgotten, _ = AgentSession.objects.filter(ended__lt=now - KEEP_ENDED).delete()
    # A session that nobody ended but that is past its absolute limit is over too.
    AgentSession.objects.filter(
        ended__isnull=True, created__lt=now - absolute_limit()
    ).update(ended=now, end_reason=EndReason.ABSOLUTE)
    return forgotten
