"""The agent's time zone for the request (docs/web.md, "Languages").

Django shows times in the *current* time zone: ``{{ value|date }}``, ``localtime``
and ``django.utils.formats`` all read it.  This middleware makes it the agent's own
(``AgentProfile.time_zone``), which the session store read together with the session
(``helpline/web/sessions.py``): no query more.  Without a session (the API, which
answers in UTC with an offset, the login page) or without a zone of its own the
site's ``settings.TIME_ZONE`` stays.  Mails to an agent choose the recipient's zone
themselves (``responses/agent_mail.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from helpline.local_format import zone_of


class AgentTimeZoneMiddleware:
    """After the session middlewares: activate the agent's zone for this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = self.zone(request)
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def zone(request: HttpRequest) -> ZoneInfo | None:
        store = getattr(request, "session", None)
        if store is None or SESSION_KEY not in store:  # loads the session
            return None
        row = getattr(store, "agent_session", None)
        return zone_of(row.time_zone if row is not None else None)
