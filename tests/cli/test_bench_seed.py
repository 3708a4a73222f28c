"""``helpline bench seed``: the data the load benchmark (bench/load.py) works on."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from helpline.actions import admin
from helpline.models import OutboxMessage, Queue, Ticket
from helpline.responses.replies import reply

pytestmark = pytest.mark.django_db


def test_an_agent_can_reply_to_a_seeded_ticket_from_its_queues_address(db):
    """Every seeded queue has a system address of its own, so a reply on seeded
    data is queued for sending instead of refused for want of a sender."""
    call_command(
        "bench",
        "seed",
        *("--tickets", "600", "--queues", "12", "--workers", "1"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    queues = list(Queue.objects.select_related("system_address"))
    assert len(queues) == 12
    addresses = {q.name: q.system_address.email for q in queues if q.system_address}
    assert len(set(addresses.values())) == 12
    assert addresses["info-en"] == "info-en@bench.example.org"
    agent = admin.get_agent("bench")
    ticket = (
        Ticket.objects.visible_to(agent)
        .filter(locked=False)
        .exclude(state_type="closed")
        .select_related("queue__system_address")
        .order_by("pk")
        .first()
    )
    assert ticket is not None
    reply(agent, ticket.pk, text="Thank you, we will look into it.")
    outbox = OutboxMessage.objects.get(article__ticket=ticket)
    assert outbox.envelope_from == ticket.queue.system_address.email
