"""Each action a job can take, done through the actions and named in the history."""

from __future__ import annotations

import pytest

from helpline.actions.tickets import close_ticket
from helpline.automation import runner
from helpline.blobstore import read_blob
from helpline.models import (
    Article,
    HistoryEntry,
    OutboxMessage,
    StateType,
    Ticket,
    TicketLink,
)
from tests.automation.desk import job, make_desk, ticket
from tests.search import committed

pytestmark = pytest.mark.django_db


def test_owner_responsible_lock_note_link_pending_and_notify():
    desk = make_desk()
    target, parent = ticket(desk.info), ticket(desk.permissions)
    triage = job(
        desk,
        "triage",
        query=f"number:{target.number}",
        queues=["Info"],
        actions=[
            {"do": "owner", "agent": "alice"},
            {"do": "responsible", "agent": "boss"},
            {"do": "lock"},
            {"do": "note", "text": "Taken by the triage job.", "subject": "Triage"},
            {"do": "link", "ticket": parent.number, "type": "parent_child"},
            {"do": "state", "state": "pending reminder", "pending_days": 7},
            {"do": "notify", "to": ["owner"], "text": "Yours now."},
        ],
    )

    run = runner.run_now(desk.boss, triage)

    assert (run.changed, run.failed) == (1, 0), run.errors
    t = Ticket.objects.get(pk=target.pk)
    assert (t.owner, t.responsible, t.locked) == (desk.agent, desk.boss, True)
    assert t.state_type == StateType.PENDING_REMINDER
    assert t.pending_until is not None
    assert Article.objects.filter(ticket=t, subject="Triage").exists()
    assert TicketLink.objects.filter(source=t, target=parent).exists()
    mail = [read_blob(m.raw).decode() for m in OutboxMessage.objects.all()]
    assert any("Yours now." in text and "alice@example.org" in text for text in mail)
    actors = set(
        HistoryEntry.objects.filter(ticket=t)
        .exclude(type="created")
        .exclude(type="article", actor__isnull=True)
        .values_list("actor__username", flat=True)
    )
    assert actors == {"job:triage"}


def test_archive_takes_closed_tickets_and_refuses_open_ones():
    desk = make_desk()
    done, still_open = ticket(desk.info), ticket(desk.info)
    with committed():
        close_ticket(desk.agent, done.pk, note="Answered.")
    tidy = job(desk, "archive", queues=["Info"], actions=[{"do": "archive"}])

    run = runner.run_now(desk.boss, tidy)

    assert (run.matched, run.changed, run.failed) == (2, 1, 1)
    assert "only closed ones archive" in run.errors[0]["error"]
    archived = dict(Ticket.objects.values_list("pk", "archived"))
    assert archived == {done.pk: True, still_open.pk: False}
