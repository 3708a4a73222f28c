"""Django's database session store, which also reads the agent's session row
(``AgentSession``) in the same query: an ended, idle or too old session is refused
on its next request, without a query more (docs/authentication.md, "Sessions").

``AgentSessionMiddleware`` writes when the session was last seen (once a minute at
most), and the signal handlers record logins and logouts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.db.models import Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from helpline.actions import sessions
from helpline.models import AgentSession
from helpline.web.throttle import client_ip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """What the session's ``AgentSession`` row said when the session was loaded."""

    id: int
    last_seen: datetime
    # The agent's time zone (AgentProfile.time_zone), read in the same query; empty
    # or None: the site's (helpline/web/timezones.py activates it).
    time_zone: str | None = None


class SessionStore(db.SessionStore):
    agent_session: Row | None = None

    def _get_session_from_db(self) -> Any:
        rows = AgentSession.objects.filter(
            key_hash=sessions.hash_key(self.session_key or "")
        )
        now = timezone.now()
        try:
            found = self.model.objects.annotate(
                hl_id=Subquery(rows.values("pk")[:1]),
                hl_created=Subquery(rows.values("created")[:1]),
                hl_seen=Subquery(rows.values("last_seen")[:1]),
                hl_ended=Subquery(rows.values("ended")[:1]),
                hl_zone=Subquery(rows.values("agent__agent_profile__time_zone")[:1]),
            ).get(session_key=self.session_key, expire_date__gt=now)
        except (self.model.DoesNotExist, SuspiciousOperation) as exc:
            if isinstance(exc, SuspiciousOperation):
                logging.getLogger(f"django.security.{type(exc).__name__}").warning(
                    str(exc)
                )
            self._session_key = None
            return None
        if found.hl_id is None:
            return found
        reason = (
            "ended"
            if found.hl_ended is not None
            else sessions.expiry_reason(found.hl_created, found.hl_seen, now)
        )
        if reason is not None:
            if found.hl_ended is None:
                AgentSession.objects.filter(pk=found.hl_id).update(
                    ended=now, end_reason=reason
                )
            self.model.objects.filter(session_key=self.session_key).delete()
            self._session_key = None
            return None
        self.agent_session = Row(
            id=found.hl_id, last_seen=found.hl_seen, time_zone=found.hl_zone
        )
        return found

    def cycle_key(self) -> None:
        old = self.session_key
        super().cycle_key()
        if old and self.session_key and old != self.session_key:
            sessions.do_rekey(old, self.session_key)


class AgentSessionMiddleware:
    """Keeps ``last_seen`` and the address of each agent session (after Django's
    AuthenticationMiddleware), and records a logged-in session that has no row yet
    (one logged in on a release before sessions were recorded)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.track(request)
        return self.get_response(request)

    @staticmethod
    def track(request: HttpRequest) -> None:
        store = getattr(request, "session", None)
        if store is None or store.session_key is None or SESSION_KEY not in store:
            return
        row = getattr(store, "agent_session", None)
        if row is None:
            user = request.user
            if user.is_authenticated and store.session_key:
                sessions.do_record_login(
                    user,
                    store.session_key,
                    user_agent=request.headers.get("User-Agent", ""),
                    ip=client_ip(request),
                )
            return
        if timezone.now() - row.last_seen >= sessions.SEEN_PRECISION:
            sessions.do_touch(row.id, ip=client_ip(request))


def on_login(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    store = getattr(request, "session", None)
    if request is None or store is None or not store.session_key:
        return
    store.agent_session = Row(
        id=sessions.do_record_login(
            user,
            store.session_key,
            user_agent=request.headers.get("User-Agent", ""),
            ip=client_ip(request),
        ).pk,
        last_seen=timezone.now(),
    )


def on_logout(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    store = getattr(request, "session", None)
    if store is not None and store.session_key:
        sessions.do_end_by_key(store.session_key, reason=sessions.EndReason.LOGOUT)


def connect() -> None:
    from django.contrib.auth.signals import user_logged_in, user_logged_out

    user_logged_in.connect(on_login, dispatch_uid="helpline-session-login")
    user_logged_out.connect(on_logout, dispatch_uid="helpline-session-logout")
