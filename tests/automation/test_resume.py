"""A run that stops half-way resumes without doing anything twice, and a job never
writes twice to the same customer about the same ticket.

The failure is real: a database trigger makes the history insert of one ticket fail
(as a full disk or a broken constraint would), so the run stops in its second batch
with the first committed; the trigger gone, the run resumes."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection

from helpline.automation import runner
from helpline.models import (
    Article,
    AutomationRun,
    AutomationSend,
    AutomationTicket,
    HistoryEntry,
    HistoryType,
    OutboxMessage,
    RunStatus,
)
from tests.automation.desk import job, make_desk, ticket

pytestmark = pytest.mark.django_db


def _fail_history_of(ticket_id: int) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute(
                "CREATE TRIGGER automation_fail BEFORE INSERT ON helpline_history "
                f"WHEN NEW.ticket_id = {int(ticket_id)} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        else:
            cur.execute(
                "CREATE FUNCTION automation_fail() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.ticket_id = {int(ticket_id)} THEN "
                "RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"
            )
            cur.execute(
                "CREATE TRIGGER automation_fail BEFORE INSERT ON helpline_history "
                "FOR EACH ROW EXECUTE FUNCTION automation_fail()"
            )


def _heal() -> None:
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER automation_fail")
        else:
            cur.execute("DROP TRIGGER automation_fail ON helpline_history")
            cur.execute("DROP FUNCTION automation_fail()")


def test_a_run_stopped_half_way_resumes_without_sending_twice(settings):
    settings.HELPLINE_AUTOMATION_BATCH = 3
    settings.HELPLINE_AUTOMATION_BATCH_SECONDS = 3600  # batches of 3, however slow
    desk = make_desk()
    tickets = [ticket(desk.permissions, customer=f"c{i}@example.net") for i in range(8)]
    remind = job(
        desk,
        "remind",
        query="",
        queues=["Permissions"],
        actions=[{"do": "send", "template": "still-waiting"}],
    )
    expected = runner.preview(desk.boss, remind, all_ids=True).ticket_ids
    assert expected == [t.pk for t in tickets]
    run = runner.start_run(remind, trigger="manual")
    _fail_history_of(tickets[4].pk)  # in the second batch

    with pytest.raises(DatabaseError):
        runner.process_run(run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # stopped, not finished
    assert run.cursor == tickets[2].pk  # the first batch is committed
    assert AutomationSend.objects.count() == 3
    _heal()

    run = runner.process_run(run.pk)  # what the worker's next minute does

    assert run.status == RunStatus.DONE
    assert "resumed" in run.message
    assert (run.matched, run.changed, run.failed) == (8, 8, 0)
    sent = Article.objects.filter(ticket__in=tickets, subject__contains="Re:")
    assert sorted(sent.values_list("ticket_id", flat=True)) == expected  # once each
    assert OutboxMessage.objects.filter(article__in=sent).count() == 8
    done = AutomationTicket.objects.filter(run=run)
    assert sorted(done.values_list("ticket_id", flat=True)) == expected
    entries = HistoryEntry.objects.filter(type=HistoryType.EMAIL_SENT)
    assert entries.count() == 8
    assert {e.actor.get_username() for e in entries} == {"job:remind"}

    # Another run finds the same tickets, and writes to nobody again.
    again = runner.run_now(desk.boss, remind)
    assert (again.matched, again.changed) == (8, 0)
    assert OutboxMessage.objects.count() == 8
    assert AutomationRun.objects.count() == 2


def test_a_domain_error_costs_only_its_ticket():
    desk = make_desk()
    no_customer = ticket(desk.permissions, customer="")
    fine = ticket(desk.permissions)
    remind = job(
        desk,
        "remind",
        queues=["Permissions"],
        actions=[{"do": "send", "template": "still-waiting"}],
    )

    run = runner.run_now(desk.boss, remind)

    assert (run.matched, run.changed, run.failed) == (2, 1, 1)
    assert run.errors == [
        {
            "ticket": no_customer.pk,
            "error": f"Ticket {no_customer.number} has no customer to write to.",
        }
    ]
    assert AutomationSend.objects.filter(ticket_id=fine.pk).count() == 1
    assert not AutomationSend.objects.filter(ticket_id=no_customer.pk).exists()
