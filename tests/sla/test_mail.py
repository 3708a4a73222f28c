"""Mail received is a new ticket or a customer's follow-up: its clocks follow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpline.actions import service_levels
from helpline.mail.intake import receive_and_dispatch
from helpline.models import Ticket
from tests.mail.messages import mail
from tests.sla.test_escalation import BERLIN, _do
from tests.support import make_queue

pytestmark = pytest.mark.django_db


def test_mail_opens_the_first_response_clock_and_a_follow_up_the_update_clock(
    desk, clock, django_capture_on_commit_callbacks
):
    queue, alice = desk
    info = make_queue("info-de", group=queue.group, email="info-de@helpline.localhost")
    service_levels.set_queue_service_level(
        None, info, service_levels.get_service_level("Standard")
    )
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        first = receive_and_dispatch(
            mail(to="info-de@helpline.localhost"), transport="test"
        )
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.escalation_at == datetime(2026, 3, 2, 10, tzinfo=UTC)

    clock.set(BERLIN, "2026-03-02 09:30")
    with django_capture_on_commit_callbacks(execute=True):
        _do("reply", ticket, alice)
    clock.set(BERLIN, "2026-03-02 11:00")
    article = ticket.articles.order_by("id").first()
    with django_capture_on_commit_callbacks(execute=True):
        follow_up = receive_and_dispatch(
            mail(
                to="info-de@helpline.localhost",
                subject="Re: Question about an article",
                in_reply_to=f"<{article.message_id}>",
            ),
            transport="test",
        )
    assert follow_up.ticket_id == ticket.pk
    ticket.refresh_from_db()
    assert ticket.first_response_due is None
    assert ticket.update_due == datetime(2026, 3, 2, 14, tzinfo=UTC)
    assert ticket.escalation_at == ticket.update_due
