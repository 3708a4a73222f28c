"""Mail from Helpline itself to one agent: notifications, password resets,
invitations, inactivity warnings, report mails, automation jobs' notices.

Each goes through the outbox (sent by the worker, surviving an SMTP outage), from
``HELPLINE_NOTIFY_FROM`` (else ``helpline@HELPLINE_MAIL_DOMAIN``), marked
``Auto-Submitted: auto-generated`` so that nobody's auto-responder answers it."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from helpline.mail.compose import Outgoing, build
from helpline.mail.outbound import queue_message


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
