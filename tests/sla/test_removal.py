"""Removing a ticket (retention, erasure) removes its service-level row too."""

from __future__ import annotations

import pytest
from django.db import connection

from helpline.actions import removal
from helpline.models import Ticket, TicketServiceLevel
from tests.sla.test_escalation import BERLIN
from tests.support import make_ticket

pytestmark = pytest.mark.django_db


def test_a_deleted_ticket_leaves_no_service_level_row(
    desk, clock, django_capture_on_commit_callbacks
):
    queue, _ = desk
    clock.set(BERLIN, "2026-03-02 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(queue)
    assert TicketServiceLevel.objects.filter(ticket=ticket).exists()
    removal.delete_tickets([ticket.pk], actor=None, reason="test")
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert not TicketServiceLevel.objects.filter(ticket_id=ticket.pk).exists()
    # The foreign keys are checked at commit; check them now.
    connection.check_constraints()
