"""A dry run against a Helpline in use holds no lock for longer than a stretch of
the run (``runner._dry_run``): each batch of tickets is rolled back when it is
written, so an agent's change to a ticket the dry run has been through is not kept
waiting for the end of the run."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from helpline.importers.znuny import runner, tickets
from helpline.models import Ticket
from tests.znuny import sources
from tests.znuny.test_tickets_delta import candidates, opened, run_import, target

TITLE = """
my $TicketObject = $Kernel::OM->Get('Kernel::System::Ticket');
for my $TicketID (%s) {
    $TicketObject->TicketTitleUpdate(
        Title => "Retitled in Znuny $TicketID", TicketID => $TicketID, UserID => 2,
    ) or die;
}
"""


def agent_edits(pk: int, title: str) -> BaseException | None:
    """From another connection (an agent's request), with a short wait for locks:
    set the ticket's title; the error if it could not."""
    found: list[BaseException] = []

    def edit() -> None:
        try:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '3s'")
            Ticket.objects.filter(pk=pk).update(title=title)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            found.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=edit)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return found[0] if found else None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_dry_run_does_not_keep_a_ticket_it_went_through_locked(
    znuny_copy, monkeypatch
):
    """Two tickets changed in Znuny, a batch each: after the dry run wrote (and rolled
    back) the first, an agent changes that ticket at once, without waiting for the
    dry run to end; the dry run reports both changes and keeps neither, and the
    agent's change stays."""
    first, second = candidates(znuny_copy, 2)
    run_import(znuny_copy)
    sources.perl(znuny_copy, TITLE % f"{first}, {second}")
    pk = target("ticket", first)
    monkeypatch.setattr(tickets, "BATCH", 1)
    original = tickets.Batch.run
    probes: list[BaseException | None] = []

    def run(self: Any, ids: Any) -> None:
        original(self, ids)
        if self.ctx.dry_run and list(ids) == [first]:
            probes.append(agent_edits(pk, "An agent's title"))

    monkeypatch.setattr(tickets.Batch, "run", run)

    with opened(znuny_copy) as source:
        report, record = runner.run(source, dry_run=True)

    assert probes == [None]
    assert record is None
    assert report["ticket"].updated == 2
    assert Ticket.objects.get(pk=pk).title == "An agent's title"
    assert Ticket.objects.get(pk=target("ticket", second)).title != (
        f"Retitled in Znuny {second}"
    )
