"""Junk is kept until its queue's retention removes it: "Spam" counts as the ticket's
last change, so a ticket is kept ``retention_days`` after it was marked (or after the
spam arrived), and "Not spam" takes it out of the junk queue's retention."""

from __future__ import annotations

import pytest

from helpline.actions import retention
from helpline.actions.spam import mark_not_spam, mark_spam
from helpline.models import Ticket
from tests.privacy.removing import later
from tests.spam.desk import make_desk
from tests.support import make_ticket

pytestmark = pytest.mark.django_db


def test_junk_is_kept_until_its_retention_days_after_the_spam_verdict(settings):
    settings.HELPLINE_SPAMD = ""  # the filter plays no part here
    desk = make_desk()  # Junk: every ticket removed 30 days after its last change
    spam, rescued = make_ticket(desk.info), make_ticket(desk.info, title="Real")
    for ticket in (spam, rescued):
        mark_spam(desk.agent, ticket.pk)
    mark_not_spam(desk.agent, rescued.pk)

    assert [r.count for r in retention.retention_preview(now=later(29))] == [0]
    retention.run_retention(now=later(29))
    assert Ticket.objects.filter(pk=spam.pk).exists()

    preview = retention.retention_preview(now=later(31))
    assert [(r.queue, r.numbers) for r in preview] == [("Junk", [spam.number])]
    retention.run_retention(now=later(31))
    assert not Ticket.objects.filter(pk=spam.pk).exists()
    assert Ticket.objects.get(pk=rescued.pk).queue == desk.info
