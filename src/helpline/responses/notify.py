"""Notifications to agents by email (BEHAVIOUR.md s. 10).

Never to the agent who caused the event, never to an agent who may not read the ticket
(checked through ``access.may`` at sending time), never when the agent switched that
kind off in their preferences.  Sent through the outbox like every other mail, marked
``Auto-Submitted: auto-generated`` so nobody's vacation responder answers it.  Each
mail is written in its recipient's language and time zone (``agent_mail.speaking_to``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpline import local_format
from helpline.actions.access import may
from helpline.actions.events import Event
from helpline.actions.mentions import mentioned_agents
from helpline.actions.out_of_office import substitutes_for
from helpline.mail import snapshot
from helpline.models import AgentProfile, Article, Permission, Ticket
from helpline.numbers import build_subject
from helpline.responses.agent_mail import (
    AgentLocale,
    agent_locale,
    mail_agent,
    site_locale,
    speaking_to,
)

log = logging.getLogger(__name__)


TITLES = {
    Event.NEW_TICKET: gettext_noop("New ticket"),
    Event.FOLLOW_UP: gettext_noop("Follow-up"),
    Event.MOVED: gettext_noop("Ticket moved into your queue"),
    Event.LOCK_TIMEOUT: gettext_noop("Lock timed out"),
    Event.OWNER: gettext_noop("You are now the owner"),
    Event.RESPONSIBLE: gettext_noop("You are now responsible"),
    Event.PENDING_REMINDER: gettext_noop("Reminder reached"),
    Event.DELIVERY_FAILED: gettext_noop("Delivery failed"),
    Event.ESCALATION_WARNING: gettext_noop("Escalation soon"),
    Event.ESCALATION: gettext_noop("Escalated"),
    Event.MENTION: gettext_noop("You were mentioned"),
}


def _followers(ticket: Ticket) -> list[Any]:
    return list(
        get_user_model().objects.filter(
            agent_profile__followed_queues=ticket.queue, is_active=True
        )
    )


def recipients_for(
    event: Event, ticket: Ticket, article: Article | None = None
) -> list[Any]:
    """Who hears of ``event`` by default (before access and preference checks)."""
    if event == Event.MENTION:
        return mentioned_agents(article.pk) if article is not None else []
    if event in (Event.NEW_TICKET, Event.MOVED):
        return _followers(ticket)
    if event == Event.FOLLOW_UP:
        if ticket.locked and ticket.owner is not None:
            return [ticket.owner]
        return _followers(ticket)
    if event in (Event.LOCK_TIMEOUT, Event.OWNER):
        return [ticket.owner] if ticket.owner else []
    if event == Event.RESPONSIBLE:
        return [ticket.responsible] if ticket.responsible else []
    if event in (Event.ESCALATION_WARNING, Event.ESCALATION):
        # Owner and responsible; a ticket nobody holds: the queue's followers.
        held = [u for u in (ticket.owner, ticket.responsible) if u is not None]
        return held or _followers(ticket)
    # Reminders and delivery failures: owner and responsible.
    return [u for u in (ticket.owner, ticket.responsible) if u is not None]


def notify(
    event: Event,
    ticket: Ticket,
    *,
    actor: Any | None = None,
    article: Article | None = None,
    recipients: Iterable[Any] | None = None,
) -> list[str]:
    """Queue the notification; returns the addresses it went to."""
    people = (
        list(recipients)
        if recipients is not None
        else recipients_for(event, ticket, article)
    )
    # Out of office: the substitute hears of it too (docs/web.md, "Out of office").
    standing_in: dict[int, Any] = {}
    direct = {p.pk for p in people}
    for stand_in, away in substitutes_for(people):
        if stand_in.pk not in direct:
            standing_in.setdefault(stand_in.pk, away)
            people.append(stand_in)
    off: dict[int, list[str]] = {}
    locales: dict[int, AgentLocale] = {}
    for pk, kinds, language, zone in AgentProfile.objects.filter(
        user__in=[p.pk for p in people]
    ).values_list("user_id", "notifications_off", "language", "time_zone"):
        off[pk] = kinds
        locales[pk] = agent_locale(language, zone)
    sent: list[str] = []
    for agent in {p.pk: p for p in people}.values():
        if actor is not None and agent.pk == actor.pk:
            continue
        if (
            not agent.is_active
            or not agent.email
            or str(event) in off.get(agent.pk, [])
        ):
            continue
        if not may(agent, ticket, Permission.RO):
            continue
        with speaking_to(locales.get(agent.pk) or site_locale()):
            _send(event, ticket, agent, article, standing_in.get(agent.pk))
        sent.append(agent.email)
    return sent


def _send(
    event: Event,
    ticket: Ticket,
    agent: Any,
    article: Article | None,
    substitute_for: Any | None = None,
) -> None:
    """Write and queue one notification, in the language and time zone active (the
    recipient's: ``notify``)."""
    base = settings.HELPLINE_BASE_URL.rstrip("/")
    title = _(TITLES[event])
    lines = [
        f"{title}: {ticket.title}",
        "",
        _("Queue: %(queue)s") % {"queue": ticket.queue.name},
        _("State: %(state)s   Priority: %(priority)s")
        % {"state": _(ticket.state.name), "priority": ticket.priority},
        _("Open it: %(link)s") % {"link": f"{base}/ticket/{ticket.number}"},
    ]
    if event in (Event.ESCALATION_WARNING, Event.ESCALATION) and ticket.escalation_at:
        lines.insert(4, _escalation_line(ticket))
    if substitute_for is not None:
        away = substitute_for.get_username()
        lines[1:1] = [
            "",
            _("You get this as substitute for %(login)s (out of office).")
            % {"login": away},
        ]
    if article is not None and article.body_text:
        excerpt = "\n".join(article.body_text.strip().splitlines()[:15])
        lines += [
            "",
            _("From: %(sender)s") % {"sender": article.from_addr},
            "",
            excerpt,
        ]
    mail_agent(
        agent,
        build_subject(ticket.number, f"{title}: {ticket.title}"),
        "\n".join(lines) + "\n",
        ticket_id=ticket.pk,
    )


def _escalation_line(ticket: Ticket) -> str:
    """The escalation time in the recipient's format and time zone, the zone named."""
    return _("Escalation time: %(when)s (%(zone)s)") % {
        "when": local_format.short_datetime(ticket.escalation_at),
        "zone": local_format.zone_name(),
    }


def deliver(
    event: Event,
    ticket_id: int,
    *,
    actor: Any | None = None,
    article_id: int | None = None,
) -> None:
    """The subscriber of ``events.on_announce``: notify of what an action announced."""
    with transaction.atomic():
        ticket = Ticket.objects.select_related(
            "queue", "state", "owner", "responsible"
        ).get(pk=ticket_id)
        article = Article.objects.filter(pk=article_id).first() if article_id else None
        notify(event, ticket, actor=actor, article=article)


def after_inbound(
    *,
    ticket_id: int | None,
    article_id: int | None,
    outcome: str = "",
    queue_id: int | None = None,
    spam: bool = False,
    **_: object,
) -> None:
    """Mail hook: tell followers of a new ticket, and the owner of a follow-up; of
    mail judged spam, nobody (docs/spam.md)."""
    if ticket_id is None or spam:
        return
    event = {
        "new_ticket": Event.NEW_TICKET,
        "follow_up": Event.FOLLOW_UP,
        "rejected_follow_up": Event.FOLLOW_UP,
        "bounce": Event.DELIVERY_FAILED,
    }.get(outcome)
    if event is None:
        return
    if _nobody_to_tell(event, ticket_id, queue_id):
        return
    with transaction.atomic():
        ticket = Ticket.objects.select_related(
            "queue", "state", "owner", "responsible"
        ).get(pk=ticket_id)
        article = Article.objects.filter(pk=article_id).first() if article_id else None
        notify(event, ticket, article=article)


def _nobody_to_tell(event: Event, ticket_id: int, queue_id: int | None) -> bool:
    """Cheaply sure that ``recipients_for`` would be empty (most mail, most queues)?"""
    if event not in (Event.NEW_TICKET, Event.FOLLOW_UP) or queue_id is None:
        return False
    if snapshot.current().has_followers(queue_id):
        return False
    # Nobody follows the queue: a new ticket concerns nobody, a follow-up only the
    # owner of a locked ticket.
    return event == Event.NEW_TICKET or not (
        Ticket.objects.filter(pk=ticket_id, locked=True, owner__isnull=False).exists()
    )
