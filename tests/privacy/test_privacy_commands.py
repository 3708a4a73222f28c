"""The command line of data protection: 'helpline queue retention' shows and sets a
queue's retention, 'helpline privacy retention|erase|runs' preview and run, each as
an agent who holds handle_personal_data (a superuser without it is refused)."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from helpline.actions import admin
from helpline.actions.tickets import close_ticket
from helpline.models import Permission, PrivacyRun, Queue, Ticket
from tests.privacy.removing import holder, superuser
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def desk(db):
    group = make_group("Desk")
    queue = make_queue("Mail", group=group)
    worker = make_agent("worker")
    admin.grant(group, [Permission.RW], agent=worker)
    holder("dpo")
    superuser("root")
    return queue, worker


def test_queue_retention_is_shown_by_anyone_and_set_by_holders(desk):
    assert run("queue", "retention", "Mail") == "Queue 'Mail': tickets kept for ever.\n"
    shown = run(
        "queue",
        "retention",
        "Mail",
        "--days",
        "90",
        "--action",
        "anonymise",
        "--as",
        "dpo",
    )
    assert shown == "Queue 'Mail': tickets anonymised 90 days after closing.\n"
    assert run(
        "queue", "retention", "Mail", "--junk", "--days", "7", "--as", "dpo"
    ) == ("Queue 'Mail': tickets anonymised 7 days after the last change (junk).\n")
    with pytest.raises(CommandError, match="handle_personal_data"):
        run("queue", "retention", "Mail", "--keep", "--as", "root")
    with pytest.raises(CommandError, match="--as"):
        run("queue", "retention", "Mail", "--keep")
    queue = Queue.objects.get(name="Mail")
    assert (queue.retention_days, queue.retention_action, queue.junk) == (
        7,
        "anonymise",
        True,
    )
    run("queue", "retention", "Mail", "--keep", "--no-junk", "--as", "dpo")
    assert Queue.objects.get(name="Mail").retention_days is None


def test_retention_preview_and_run(desk):
    queue, worker = desk
    run("queue", "retention", "Mail", "--days", "30", "--as", "dpo")
    ticket = make_ticket(queue, title="Old")
    close_ticket(worker, ticket.pk, note="Done.")
    # Closed 40 days ago (no action makes the past).
    Ticket.objects.filter(pk=ticket.pk).update(
        closed_at=timezone.now() - timedelta(days=40)
    )
    table = run("privacy", "retention", "--preview", "--as", "dpo").splitlines()
    assert table[0].split() == ["QUEUE", "ACTION", "DAYS", "JUNK", "DUE", "FIRST"]
    assert table[1].split() == ["Mail", "delete", "30", "1", ticket.number]
    preview = json.loads(
        run("privacy", "retention", "--preview", "--json", "--as", "dpo")
    )
    assert preview[0]["numbers"] == [ticket.number]
    out = run("privacy", "retention", "--run", "--as", "dpo")
    assert out.splitlines()[0].endswith("done, 1 ticket(s) removed, 0 error(s).")
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    (done,) = PrivacyRun.objects.filter(kind="retention")
    assert done.requested_by_name == "dpo"
    listing = run("privacy", "runs", "--as", "dpo").splitlines()
    assert listing[1].split()[0] == str(done.pk) and "done" in listing[1]
    with pytest.raises(CommandError, match="handle_personal_data"):
        run("privacy", "retention", "--preview", "--as", "root")


def test_erase_preview_and_run(desk):
    queue, _ = desk
    ticket = make_ticket(queue, title="Jane's", customer="jane@example.net")
    preview = run("privacy", "erase", "jane@example.net", "--preview", "--as", "dpo")
    assert f"anonymised: {ticket.number}" in preview
    assert not PrivacyRun.objects.exists()
    out = run(
        "privacy", "erase", "jane@example.net", "--run", "--delete", "--as", "dpo"
    )
    assert f"deleted: {ticket.number}" in out and "done" in out
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert PrivacyRun.objects.get().subject.startswith("sha256:")
    with pytest.raises(CommandError, match="handle_personal_data"):
        run("privacy", "erase", "jane@example.net", "--preview", "--as", "root")
    with pytest.raises(CommandError, match="not an email address"):
        run("privacy", "erase", "nobody", "--preview", "--as", "dpo")
