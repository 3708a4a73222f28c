"""Deactivating inactive agents (docs/administration.md), off unless
``HELPLINE_DEACTIVATE_INACTIVE_MONTHS`` is set: a warning mail through the outbox
first, the deactivation after ``HELPLINE_INACTIVE_GRACE_DAYS`` if the agent stayed
away."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from helpline.actions import agent_admin
from helpline.responses.agent_mail import locale_of, mail_agent, speaking_to

audit = logging.getLogger("helpline.audit")


def run() -> dict[str, int]:
    """One round: warn, deactivate, clear.  Nothing at all when switched off."""
    months = int(settings.HELPLINE_DEACTIVATE_INACTIVE_MONTHS)
    if months <= 0:
        return {"warned": 0, "deactivated": 0, "cleared": 0}
    grace = int(settings.HELPLINE_INACTIVE_GRACE_DAYS)
    found = agent_admin.inactive_round(months=months, grace_days=grace)
    warned = 0
    for agent in found.to_warn:
        if not agent.email:
            continue
        with transaction.atomic():
            _queue(agent, months=months, grace=grace)
            agent_admin.mark_warned(agent)
        audit.info("inactivity warning queued for %s", agent.get_username())
        warned += 1
    return {
        "warned": warned,
        "deactivated": len(found.deactivated),
        "cleared": found.cleared,
    }


def _queue(agent: Any, *, months: int, grace: int) -> None:
    with speaking_to(locale_of(agent)):
        subject = _("Your Helpline login will be deactivated")
        body = "\n".join(
            [
                _("Hello %(name)s,")
                % {"name": agent.get_full_name() or agent.username},
                "",
                _(
                    "The Helpline login %(login)s has not been used for %(months)d "
                    "months. It will be deactivated in %(days)d days unless you log "
                    "in before then."
                )
                % {"login": agent.get_username(), "months": months, "days": grace},
                "",
                settings.HELPLINE_BASE_URL.rstrip("/") + "/login/",
            ]
        )
    mail_agent(agent, subject, body + "\n")
