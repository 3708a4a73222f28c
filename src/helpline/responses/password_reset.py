"""Password reset mail (docs/authentication.md, "Password reset and password rules").

A reset link carries Django's token (``default_token_generator``): it expires after
``PASSWORD_RESET_TIMEOUT`` and works once, since it is made from the password hash and
the last login, which the reset changes.  The mail goes through the outbox like every
other mail, so a reset asked for while the SMTP server is down is sent when it is back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from helpline.responses.agent_mail import locale_of, mail_agent, speaking_to

audit = logging.getLogger("helpline.audit")


def reset_link(agent: Any) -> str:
    """The agent's reset link (valid until the password or the last login changes,
    or ``PASSWORD_RESET_TIMEOUT`` passes)."""
    uid = urlsafe_base64_encode(force_bytes(agent.pk))
    token = default_token_generator.make_token(agent)
    path = reverse("password-reset-confirm", args=[uid, token])
    return settings.HELPLINE_BASE_URL.rstrip("/") + path


def send_reset_mail(email: str) -> int:
    """Queue a reset mail to every active agent with address ``email`` and a
    password; returns how many were queued (the caller never tells the asker)."""
    agents = [
        a
        for a in get_user_model().objects.filter(
            email__iexact=email.strip(), is_active=True
        )
        if a.has_usable_password()
    ]
    with transaction.atomic():
        for agent in agents:
            _queue(agent)
    for agent in agents:
        audit.info("password reset mail queued for %s", agent.get_username())
    return len(agents)


def _queue(agent: Any) -> None:
    minutes = int(settings.PASSWORD_RESET_TIMEOUT) // 60
    with speaking_to(locale_of(agent)):
        subject = _("Resetting your Helpline password")
        body = "\n".join(
            [
                _("Hello %(name)s,")
                % {"name": agent.get_full_name() or agent.username},
                "",
                _(
                    "Someone (we hope you) asked to reset the password of the "
                    "Helpline login %(login)s. To choose a new password, open this "
                    "link within %(minutes)d minutes; it works once:"
                )
                % {"login": agent.get_username(), "minutes": minutes},
                "",
                reset_link(agent),
                "",
                _("If you did not ask for this, ignore this mail: nothing changes."),
            ]
        )
    mail_agent(agent, subject, body + "\n")
