"""Retention removes closed tickets their queue's number of days after closing, and
what it removes is found nowhere afterwards: not by search, not in a dump of the
database, not in the blob store's files, not in a mail kept or queued; what must
stay (other tickets, bytes they share, the read audit) stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from helpline.actions import read_audit, retention
from helpline.blobstore import read_blob
from helpline.models import (
    Attachment,
    HistoryEntry,
    HistoryType,
    OutboxMessage,
    PrivacyRun,
    ReadEvent,
    Ticket,
)
from tests.privacy import traces
from tests.privacy.conftest import attachment_bytes
from tests.privacy.removing import (  # noqa: F401 - the clean_index fixture
    answered_and_closed,
    clean_index,
    following,
    in_mail,
    keep_for,
    later,
    mail,
    receive,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("clean_index"),
]


def test_deleted_tickets_leave_no_trace_and_shared_bytes_stay(org):
    keep_for(org.info, 30, "delete")
    following(org.agent, org.info)  # notifications quote the new tickets
    passport = attachment_bytes("Qworpassport")
    doomed = answered_and_closed(
        org.agent,
        mail(
            sender="Jane Roe <jane.roe@example.net>",
            subject="Zarquon refund",
            body="My passport number is Vexlorian4711.",
            attachments={"passport.pdf": passport},
        ),
        answer="We have your Vexlorian4711 form.",
    )
    # Another customer sent the very same file: its bytes must stay.
    kept = receive(
        mail(
            sender="Bob Stone <bob@example.org>",
            subject="Gulpwidget order",
            body="Same form attached.",
            attachments={"form.pdf": passport},
        )
    )
    read_audit.record(org.agent, doomed, "ticket")
    number = doomed.number
    words = ["Vexlorian4711", "Zarquon", "jane.roe@example.net"]
    # Where the words were: the rows, the index, the raw mail (a file: it carries
    # the attachment), the reply and the notification in the outbox.
    before = traces.find(words, searcher=org.agent)
    assert {"database: 'Vexlorian4711'", "search: 'Vexlorian4711'"} <= set(before)
    assert any(f.startswith("blob ") and "Vexlorian4711" in f for f in before)
    assert in_mail(words) == words
    notices = OutboxMessage.objects.filter(ticket=doomed, article__isnull=True)
    assert notices.exists()

    run = retention.run_retention(now=later(31))

    assert run.status == "done", run.errors
    assert run.report["queues"]["info"]["numbers"] == [number]
    assert not Ticket.objects.filter(number=number).exists()
    assert traces.find(words, searcher=org.agent) == []
    assert in_mail(words) == []
    assert not OutboxMessage.objects.exclude(ticket=kept).exists()
    # The file's bytes are still there, once: the other ticket has them.
    shared = Attachment.objects.get(article__ticket=kept).blob.path
    found = traces.find(["Qworpassport", passport[-64:]])
    assert found and all(f.startswith(f"blob {shared}: ") for f in found), found
    # What must stay: the other ticket with its file, the read audit by number.
    attachment = Attachment.objects.get(article__ticket=kept)
    assert read_blob(attachment.blob) == passport
    assert traces.find(["Gulpwidget"], searcher=org.agent)
    assert ReadEvent.objects.filter(ticket_number=number).count() == 1
    assert PrivacyRun.objects.get(pk=run.pk).report["totals"]["deleted"] == 1


def test_an_anonymised_ticket_keeps_its_row_and_loses_its_words(org):
    keep_for(org.info, 30, "anonymise")
    ticket = answered_and_closed(
        org.agent,
        mail(
            sender="Jane Roe <jane.roe@example.net>",
            subject="Blorptastic invoice",
            body="Call me at Frobnitz-555.",
            attachments={"id.pdf": attachment_bytes("Quiblets")},
        ),
        answer="Frobnitz-555 noted.",
    )
    articles = ticket.articles.count()
    history_types = sorted(ticket.history.values_list("type", flat=True))

    run = retention.run_retention(now=later(31))

    assert run.status == "done", run.errors
    kept = Ticket.objects.get(pk=ticket.pk)
    assert (kept.number, kept.queue_id, kept.state_id, kept.closed_at) == (
        ticket.number,
        ticket.queue_id,
        ticket.state_id,
        ticket.closed_at,
    )
    assert kept.title == "Anonymised ticket" and kept.customer_id is None
    assert kept.anonymised is not None
    assert kept.articles.count() == articles
    assert not Attachment.objects.filter(article__ticket=kept).exists()
    types = sorted(kept.history.values_list("type", flat=True))
    assert types == sorted([*history_types, HistoryType.ANONYMISED])
    subjects = [e.data.get("subject") for e in HistoryEntry.objects.filter(ticket=kept)]
    assert set(subjects) == {None}
    needles = ["Blorptastic", "Frobnitz", "Quiblets", "jane.roe@example.net", "Roe"]
    assert traces.find(needles, searcher=org.agent) == []
    assert in_mail(needles) == []
    # Anonymised once: the next run passes it by.
    (row,) = retention.retention_preview(now=later(400))
    assert row.count == 0


def test_a_reply_to_an_anonymised_ticket_opens_a_new_one(org):
    keep_for(org.info, 30, "anonymise")
    ticket = answered_and_closed(
        org.agent, mail(subject="Old matter", body="Hello."), answer="Answered."
    )
    retention.run_retention(now=later(31))
    follow_up = receive(
        mail(subject=f"Re: [Ticket#{ticket.number}] Old matter", body="Me again.")
    )
    assert follow_up.pk != ticket.pk
    assert (
        Ticket.objects.get(pk=ticket.pk)
        .articles.filter(body_text__contains="Me again")
        .count()
        == 0
    )


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="SQLite's file; PostgreSQL keeps dead row versions in its files until "
    "(auto)vacuum, as docs/data-protection.md says",
)
def test_the_sqlite_file_itself_keeps_no_removed_words(org):
    """Not only the dump: the database file and its write-ahead log, as bytes
    (free pages keep deleted rows unless SQLite overwrites them: removal.removing
    turns secure_delete on and folds the log into the file)."""
    keep_for(org.info, 30, "delete")
    answered_and_closed(
        org.agent,
        mail(subject="Plumbusdoc", body="Secret Glorbnax-9931 here."),
        answer="Noted Glorbnax-9931.",
    )
    retention.run_retention(now=later(31))
    path = Path(connection.settings_dict["NAME"])
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    assert files
    for file in files:
        data = file.read_bytes().lower()
        assert b"glorbnax-9931" not in data, file
        assert b"plumbusdoc" not in data, file


@pytest.mark.parametrize("action", ["delete", "anonymise"])
def test_retention_takes_the_agents_drafts_of_the_ticket(org, action):
    from helpline.actions import drafts
    from helpline.models import ComposeDraft

    keep_for(org.info, 30, action)
    ticket = answered_and_closed(
        org.agent,
        mail(sender="Jane Roe <jane.roe@example.net>", subject="Lamp", body="Hi"),
        answer="Noted.",
    )
    other = receive(mail(sender="bob@example.org", subject="Open one", body="Hi"))
    drafts.do_save_draft(
        org.agent, ticket, kind="note", fields={"text": "Snorfblat about Jane"}
    )
    kept = drafts.do_save_draft(org.agent, other, kind="note", fields={"text": "x"})

    run = retention.run_retention(now=later(31))

    assert run.status == "done", run.errors
    assert list(ComposeDraft.objects.values_list("pk", flat=True)) == [kept.pk]
    assert traces.find(["Snorfblat"], searcher=org.agent) == []
