"""Mail from Helpline itself to one agent: notifications, password resets,
invitations, inactivity warnings, report mails, automation jobs' notices.

Each goes through the outbox (sent by the worker, surviving an SMTP outage), from
``HELPLINE_NOTIFY_FROM`` (else ``helpline@HELPLINE_MAIL_DOMAIN``), marked
``Auto-Submitted: auto-generated`` so that nobody's auto-responder answers it.

Each is written in the language and time zone of the agent it goes to, not of whoever
caused it (a German agent reads in German what an English-speaking colleague did):
the text is built inside ``speaking_to(locale_of(agent))``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone, translation

from helpline.local_format import zone_of
from helpline.mail.compose import Outgoing, build
from helpline.mail.outbound import queue_message
from helpline.models import AgentProfile


@dataclass(frozen=True)
class AgentLocale:
    """The language and time zone an agent reads in ("" for the site's zone)."""

    language: str
    time_zone: str = ""


def agent_locale(language: str | None, time_zone: str | None) -> AgentLocale:
    """From a profile's values: an unknown language is the site's."""
    codes = {code for code, _name in settings.LANGUAGES}
    return AgentLocale(
        language if language in codes else settings.LANGUAGE_CODE, time_zone or ""
    )


def locale_of(agent: Any) -> AgentLocale:
    """``agent``'s language and time zone (its preferences; one query)."""
    row = (
        AgentProfile.objects.filter(user=agent)
        .values_list("language", "time_zone")
        .first()
    )
    return agent_locale(*row) if row is not None else site_locale()


def locales_of(agent_ids: Iterable[int]) -> dict[int, AgentLocale]:
    """The language and time zone of each agent, by id (one query for all); an agent
    without preferences is missing (``locale_for`` gives the site's then)."""
    rows = AgentProfile.objects.filter(user__in=list(agent_ids)).values_list(
        "user_id", "language", "time_zone"
    )
    return {pk: agent_locale(language, zone) for pk, language, zone in rows}


def site_locale() -> AgentLocale:
    return agent_locale(settings.LANGUAGE_CODE, "")


@contextmanager
def speaking_to(locale: AgentLocale) -> Iterator[None]:
    """Translations and dates inside are the agent's (``gettext``, ``local_format``)."""
    zone = zone_of(locale.time_zone) or timezone.get_default_timezone()
    with translation.override(locale.language), timezone.override(zone):
        yield


def notify_sender() -> str:
    """The address Helpline's own mail comes from."""
    return str(
        settings.HELPLINE_NOTIFY_FROM or f"helpline@{settings.HELPLINE_MAIL_DOMAIN}"
    )


def mail_agent(
    agent: Any, subject: str, body_text: str, *, ticket_id: int | None = None
) -> None:
    """Queue a plain-text mail to ``agent``; ``ticket_id``: the ticket it is about
    (so that removing the ticket's data finds it)."""
    sender = notify_sender()
    raw, message_id = build(
        Outgoing(
            from_addr=sender,
            from_name="Helpline",
            to=[agent.email],
            subject=subject,
            body_text=body_text,
            auto_submitted="auto-generated",
        )
    )
    queue_message(
        raw,
        message_id=message_id,
        envelope_from=sender,
        recipients=[agent.email],
        article=None,
        ticket_id=ticket_id,
    )
