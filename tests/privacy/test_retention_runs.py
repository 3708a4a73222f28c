"""How retention chooses and works: per queue, closed tickets after their time, in a
junk queue every ticket by its last change; never a held one; merged tickets with
their main ticket; the preview lists exactly what the run removes; batches of
constant cost, each its own transaction, one failing without stopping the rest;
the nightly job runs once per slot."""

from __future__ import annotations

import logging
import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline import jobs
from helpline.actions import admin, legal_hold, merge, removal, retention, tickets
from helpline.actions.articles import NewArticle, NewAttachment, add_article
from helpline.models import (
    ArticleChannel,
    PeriodicRun,
    Permission,
    PrivacyRun,
    Ticket,
)
from tests.privacy.removing import holder, keep_for, later
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db):
    group = make_group("desk")
    agent = make_agent("worker")
    admin.grant(group, [Permission.RW], agent=agent)
    return group, agent


def closed(queue, agent, title="Question", **kwargs):
    ticket = make_ticket(queue, title=title, **kwargs)
    tickets.close_ticket(agent, ticket.pk, note="Done.")
    return Ticket.objects.get(pk=ticket.pk)


def test_the_preview_lists_exactly_what_the_run_removes(desk):
    group, agent = desk
    mail, junk, forever = (
        make_queue(name, group=group) for name in ("Mail", "Junk", "Forever")
    )
    keep_for(mail, 30, "delete")
    keep_for(junk, 10, "anonymise", junk=True)
    first, second, archived = (closed(mail, agent, f"Due {i}") for i in range(3))
    tickets.archive_ticket(agent, archived.pk)  # archived tickets count too
    part = closed(mail, agent, "Merged into the second")
    merge.merge_tickets(agent, part.pk, second.pk)
    held = closed(mail, agent, "Held")
    legal_hold.set_legal_hold(holder(reads=group), held.pk, reason="Court case 12/3")
    still_open = make_ticket(mail, title="Open")
    spam_open = make_ticket(junk, title="Spam, still open")
    spam_closed = closed(junk, agent, "Spam, closed")
    kept = closed(forever, agent, "Kept for ever")
    when = later(31)

    preview = {
        row.queue: row for row in retention.retention_preview(now=when, limit=50)
    }
    assert set(preview) == {"Mail", "Junk"}
    assert preview["Mail"].numbers == [first.number, second.number, archived.number]
    assert preview["Mail"].count == 3 and preview["Mail"].action == "delete"
    assert preview["Junk"].numbers == [spam_open.number, spam_closed.number]
    assert preview["Junk"].junk and preview["Junk"].action == "anonymise"

    run = retention.run_retention(now=when)

    report = run.report["queues"]
    assert report["Mail"]["numbers"] == preview["Mail"].numbers
    assert report["Junk"]["numbers"] == preview["Junk"].numbers
    assert (report["Mail"]["deleted"], report["Mail"]["merged_parts"]) == (3, 1)
    assert report["Junk"]["anonymised"] == 2
    left = set(Ticket.objects.values_list("number", flat=True))
    assert {first.number, second.number, archived.number, part.number} & left == set()
    assert {held.number, still_open.number, kept.number} <= left
    assert Ticket.objects.get(pk=spam_open.pk).anonymised is not None
    assert run.status == "done" and run.errors == []
    assert [r.count for r in retention.retention_preview(now=when)] == [0, 0]


def test_a_merged_ticket_whose_part_is_held_is_kept_whole(desk):
    group, agent = desk
    queue = make_queue("Mail", group=group)
    keep_for(queue, 30)
    main, part = closed(queue, agent, "Main"), closed(queue, agent, "Part")
    merge.merge_tickets(agent, part.pk, main.pk)
    legal_hold.set_legal_hold(holder(reads=group), part.pk, reason="Evidence")

    run = retention.run_retention(now=later(31))

    assert run.report["queues"]["Mail"]["held"] == 1
    assert Ticket.objects.filter(pk__in=[main.pk, part.pk]).count() == 2


def big_ticket(queue, agent, files: int, notes: int) -> Ticket:
    ticket = closed(queue, agent, "Big", customer=f"c{files}.{notes}@example.net")
    for i in range(notes):
        add_article(
            agent,
            ticket.pk,
            NewArticle(
                channel=ArticleChannel.INTERNAL,
                body_text=f"note {i}",
                attachments=[
                    NewAttachment(f"f{i}-{k}.txt", "text/plain", os.urandom(64))
                    for k in range(files)
                ],
            ),
        )
        tickets.set_priority(agent, ticket.pk, 1 + i % 5)
    return ticket


@pytest.mark.parametrize("action", ["delete", "anonymise"])
def test_a_batch_costs_the_same_statements_for_a_small_and_a_large_ticket(desk, action):
    group, agent = desk
    queue = make_queue("Mail", group=group)
    small = big_ticket(queue, agent, files=1, notes=1)
    large = big_ticket(queue, agent, files=5, notes=12)
    counts = []
    for ticket in (small, large):
        with CaptureQueriesContext(connection) as queries:
            done = removal.remove_tickets(
                [ticket.pk], action=action, actor=None, reason="test"
            )
        assert done.removed == 1
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_tickets_go_in_batches_each_logged(desk, monkeypatch, caplog):
    group, agent = desk
    queue = make_queue("Mail", group=group)
    keep_for(queue, 30)
    for i in range(5):
        closed(queue, agent, f"Due {i}")
    monkeypatch.setattr(removal, "BATCH", 2)
    with caplog.at_level(logging.INFO, logger="helpline.audit"):
        run = retention.run_retention(now=later(31), batch=5)
    batches = [r.getMessage() for r in caplog.records if "deleted" in r.getMessage()]
    assert [m.split(" deleted ")[1].split(" ")[0] for m in batches] == ["2", "2", "1"]
    assert run.report["totals"]["deleted"] == 5


REFUSE = {
    "sqlite": [
        "CREATE TRIGGER test_refuse BEFORE DELETE ON helpline_ticket "
        "WHEN OLD.id = {pk} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
        "CREATE TRIGGER test_refuse BEFORE DELETE ON helpline_ticket FOR EACH ROW "
        "WHEN (OLD.id = {pk}) EXECUTE FUNCTION test_refuse()",
    ],
}


def test_a_failing_ticket_costs_only_itself(desk):
    """The database refuses to delete one ticket (a trigger, rolled back with the
    test): the batch is tried one ticket at a time, the others go, the run names
    the one that failed and carries on."""
    group, agent = desk
    queue = make_queue("Mail", group=group)
    keep_for(queue, 30)
    due = [closed(queue, agent, f"Due {i}") for i in range(3)]
    with connection.cursor() as cursor:
        for sql in REFUSE[connection.vendor]:
            cursor.execute(sql.format(pk=due[1].pk))

    run = retention.run_retention(now=later(31))

    assert run.status == "done"
    assert [e["tickets"] for e in run.errors] == [[due[1].number]]
    assert "refused by the test" in run.errors[0]["error"]
    assert run.report["queues"]["Mail"]["numbers"] == [due[0].number, due[2].number]
    assert list(Ticket.objects.filter(queue=queue).values_list("pk", flat=True)) == [
        due[1].pk
    ]


def test_the_nightly_job_runs_once_per_slot(desk):
    group, agent = desk
    queue = make_queue("Mail", group=group)
    keep_for(queue, 1)
    ticket = closed(queue, agent)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=later(-2))

    assert jobs.retention_job.call_local()["deleted"] == 1
    assert jobs.retention_job.call_local() is None  # the slot is taken
    assert PeriodicRun.objects.filter(job="retention_job").count() == 1
    (run,) = PrivacyRun.objects.filter(kind="retention")
    assert (run.status, run.requested_by_name) == ("done", "")
