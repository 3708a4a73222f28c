"""The invitation mail (docs/administration.md): an agent invited, and told by mail
through the outbox, in one transaction."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from helpline.actions import invitations
from helpline.responses.agent_mail import locale_of, mail_agent, speaking_to


def invitation_link(agent: Any) -> str:
    path = reverse("invitation", args=[invitations.make_token(agent)])
    return settings.HELPLINE_BASE_URL.rstrip("/") + path


def invite(
    actor: Any,
    *,
    login: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    grants: list[tuple[int, str]] | None = None,
    language: str | None = None,
) -> Any:
    """Create the agent (``invitations.invite_agent``) and queue its mail, in the
    new agent's language: ``language``, else the site's."""
    with transaction.atomic():
        agent = invitations.invite_agent(
            actor,
            login=login,
            email=email,
            first_name=first_name,
            last_name=last_name,
            grants=grants or [],
            language=language,
        )
        _queue(actor, agent)
    return agent


def _queue(actor: Any, agent: Any) -> None:
    with speaking_to(locale_of(agent)):  # the invited agent's language, not the actor's
        subject, body = _text(actor, agent)
    mail_agent(agent, subject, body + "\n")


def _text(actor: Any, agent: Any) -> tuple[str, str]:
    body = "\n".join(
        [
            _("Hello %(name)s,") % {"name": agent.get_full_name() or agent.username},
            "",
            _(
                "%(who)s invited you to Helpline, with the login %(login)s. To "
                "choose your password, open this link within %(days)d days; it "
                "works once:"
            )
            % {
                "who": actor.get_full_name() or actor.get_username(),
                "login": agent.get_username(),
                "days": invitations.days(),
            },
            "",
            invitation_link(agent),
        ]
    )
    return _("Your Helpline login"), body
