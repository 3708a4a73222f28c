"""Mails to agents are written in the recipient's language and time zone, not in
those of whoever caused them (responses/agent_mail.py, docs/web.md "Languages")."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from django.utils import timezone, translation

from helpline.actions import admin
from helpline.actions.events import Event
from helpline.actions.preferences import set_preferences
from helpline.blobstore import read_blob
from helpline.errors import InvalidInput
from helpline.models import OutboxMessage, Permission, Ticket
from helpline.responses import agent_mail
from helpline.responses.notify import notify
from helpline.responses.render import Context, render
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    group = make_group("info")
    queue = make_queue("info-de", group=group)
    anna, bob = make_agent("anna"), make_agent("bob")
    for agent in (anna, bob):
        admin.grant(group, [Permission.RW], agent=agent)
    set_preferences(anna, language="de", time_zone="Europe/Berlin")
    return queue, anna, bob


def _mail_to(address: str):
    for row in OutboxMessage.objects.all():
        if address in row.recipients:
            return message_from_bytes(read_blob(row.raw), policy=policy.default)
    raise AssertionError(f"no mail to {address}")


def test_a_notification_speaks_the_recipients_language_not_the_actors(desk):
    queue, anna, bob = desk
    ticket = make_ticket(queue)
    escalation = datetime(2026, 7, 1, 10, 30, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(escalation_at=escalation)
    ticket.refresh_from_db()
    # Bob acts in English (his request's language); Anna reads German, Berlin time.
    with translation.override("en"):
        sent = notify(Event.ESCALATION, ticket, recipients=[anna, bob])
    assert sorted(sent) == ["anna@example.org", "bob@example.org"]
    german = _mail_to("anna@example.org")
    body = german.get_body(("plain",)).get_content()
    assert german["Subject"].endswith(f"Eskaliert: {ticket.title}")
    assert "Queue: info-de" in body
    assert "Status: neu" in body
    assert "Eskalationszeit: 01.07.2026 12:30 (Europe/Berlin)" in body
    assert "Open it" not in body
    english = _mail_to("bob@example.org")
    body = english.get_body(("plain",)).get_content()
    assert english["Subject"].endswith(f"Escalated: {ticket.title}")
    assert "Escalation time: 07/01/2026 10:30 a.m. (UTC)" in body
    assert "State: new" in body


def test_the_language_of_the_request_stays_after_the_mail(desk):
    queue, anna, _bob = desk
    with translation.override("en"):
        notify(Event.NEW_TICKET, make_ticket(queue), recipients=[anna])
        assert translation.get_language() == "en"
        assert timezone.get_current_timezone_name() == "UTC"


def test_an_agent_without_preferences_or_with_an_unknown_language_gets_the_sites():
    agent = make_agent("carl")
    agent.agent_profile.delete()
    assert agent_mail.locale_of(agent) == agent_mail.AgentLocale("en", "")
    assert agent_mail.agent_locale("tlh", "Mars/Base") == agent_mail.AgentLocale(
        "en", "Mars/Base"
    )
    with agent_mail.speaking_to(agent_mail.agent_locale("tlh", "Mars/Base")):
        # An unknown zone (tzdata may drop one) falls back to the site's.
        assert timezone.get_current_timezone_name() == "UTC"


def test_the_invitation_is_in_the_invited_agents_language(desk):
    """The new agent's language is given with the invitation (the web form gives
    the inviting administrator's); the mail speaks it, whatever is active."""
    from helpline.responses import invitation

    _queue, anna, _bob = desk
    anna.is_staff = anna.is_superuser = True
    anna.save(update_fields=["is_staff", "is_superuser"])
    with translation.override("en"):
        agent = invitation.invite(
            anna, login="neu", email="neu@example.org", language="de"
        )
        plain = invitation.invite(anna, login="new", email="new@example.org")
    assert agent_mail.locale_of(agent).language == "de"
    assert _mail_to("neu@example.org")["Subject"] == "Ihr Helpline-Login"
    assert _mail_to("new@example.org")["Subject"] == "Your Helpline login"
    assert agent_mail.locale_of(plain).language == "en"
    with pytest.raises(InvalidInput, match="tlh"):
        invitation.invite(anna, login="x", email="x@example.org", language="tlh")


def test_what_goes_to_customers_keeps_the_sites_clock(desk):
    """A placeholder in a reply shows the site's time even when the writing agent's
    own time zone is active (the page's request)."""
    queue, _anna, _bob = desk
    ticket = make_ticket(queue)
    created = datetime(2026, 7, 1, 10, 30, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(created=created)
    ticket.refresh_from_db()
    with timezone.override("Asia/Tokyo"):
        text = render("{{ ticket.created }}", Context(ticket=ticket))
    assert text == "2026-07-01 10:30"
