"""The tickets phases against the real Znuny databases (db and fs article storage)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from helpline.blobstore import read_blob
from helpline.importers.znuny import runner, tickets
from helpline.importers.znuny.source import Source
from helpline.importers.znuny.verify import verify
from helpline.mail.headers import normalize_message_id
from helpline.models import (
    Article,
    Attachment,
    HistoryEntry,
    HistoryType,
    ImportedObject,
    LinkType,
    Ticket,
    TicketLink,
    TicketWatcher,
)
from helpline.search.base import get_backend
from helpline.search.indexer import reindex_tickets
from helpline.search.postgres import GIN_INDEXES
from tests.support import database_url
from tests.znuny import sources

pytestmark = pytest.mark.django_db


def open_source(z: sources.ZnunySource, time_zone: str | None = None) -> Source:
    return Source(z.url, article_dir=z.article_dir, time_zone=time_zone)


def run_import(z: sources.ZnunySource, time_zone: str | None = None):
    source = open_source(z, time_zone)
    try:
        report, _ = runner.run(source)
    finally:
        source.close()
    return report


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_attachment_hashes(source: Source) -> Counter[str]:
    hashes = Counter(
        sha(source.blob(r["content"]))
        for r in source.rows("SELECT content FROM article_data_mime_attachment")
    )
    if source.article_dir is not None:
        from helpline.importers.znuny.verify import fs_attachments

        hashes.update(sha(p.read_bytes()) for _, p in fs_attachments(source))
    return hashes


@pytest.mark.parametrize("storage", ["db", "fs"])
def test_every_ticket_article_attachment_and_raw_mail_comes_across(storage):
    """Every ticket with its number, every article, every attachment and raw mail
    byte-identical, every history row; ``verify`` finds no difference."""
    z = sources.pristine(storage)
    report = run_import(z)
    source = open_source(z)
    try:
        numbers = {r["tn"] for r in source.rows("SELECT tn FROM ticket")}
        assert set(Ticket.objects.values_list("number", flat=True)) == numbers
        assert Article.objects.count() == source.count("article") > 0
        assert HistoryEntry.objects.count() == source.count("ticket_history")
        helpline_hashes = Counter(
            sha(read_blob(a.blob)) for a in Attachment.objects.select_related("blob")
        )
        assert helpline_hashes == source_attachment_hashes(source)
        assert sum(helpline_hashes.values()) > 0
        raw_source = Counter(
            sha(source.blob(r["body"]))
            for r in source.rows("SELECT body FROM article_data_mime_plain")
        )
        if source.article_dir is not None:
            from helpline.importers.znuny.verify import fs_raw_mails

            raw_source.update(sha(p.read_bytes()) for _, p in fs_raw_mails(source))
        raw_helpline = Counter(
            sha(read_blob(a.raw))
            for a in Article.objects.filter(raw__isnull=False).select_related("raw")
        )
        assert raw_helpline == raw_source
        assert sum(raw_source.values()) > 0
        assert verify(source) == []
    finally:
        source.close()
    assert report["ticket"].imported == len(numbers)
    # Findable by Helpline's search: every ticket has its index entry.
    assert get_backend().indexed_count() == len(numbers)
    # The entries written with the tickets (PostgreSQL: ``tickets_search``) are
    # those a rebuild from what Helpline holds makes.
    written = index_entries()
    reindex_tickets(list(Ticket.objects.values_list("pk", flat=True)))
    assert index_entries() == written


def index_entries() -> list[tuple[object, ...]]:
    if connection.vendor == "postgresql":
        sql = (
            "SELECT id, search_document::text, title_words::text "
            "FROM helpline_ticket ORDER BY id"
        )
    else:
        sql = "SELECT rowid, * FROM helpline_search_fts ORDER BY rowid"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def test_articles_keep_channel_sender_visibility_headers_and_bodies(znuny_db):
    run_import(znuny_db)
    source = open_source(znuny_db)
    try:
        rows = source.all(
            "SELECT a.id, cc.name AS channel, st.name AS sender, "
            "a.is_visible_for_customer AS visible, m.a_message_id, m.a_subject "
            "FROM article a JOIN communication_channel cc "
            "ON cc.id = a.communication_channel_id JOIN article_sender_type st "
            "ON st.id = a.article_sender_type_id "
            "LEFT JOIN article_data_mime m ON m.article_id = a.id"
        )
    finally:
        source.close()
    mapped = dict(
        ImportedObject.objects.filter(kind="article").values_list(
            "source_id", "target_id"
        )
    )
    articles = Article.objects.in_bulk(list(mapped.values()))
    channels = {"Email": "email", "Phone": "phone", "Internal": "internal"}
    for row in rows:
        article = articles[mapped[str(row["id"])]]
        assert article.channel == channels[row["channel"]]
        assert article.sender_type == row["sender"]
        assert article.visible_to_customer == bool(row["visible"])
        assert article.subject == (row["a_subject"] or "")
        if row["a_message_id"]:
            assert article.message_id == normalize_message_id(row["a_message_id"])
    assert {a.channel for a in articles.values()} >= {"email", "phone", "internal"}
    assert Article.objects.exclude(body_html="").exists()
    assert Article.objects.exclude(in_reply_to="").exists()


def test_links_merges_watchers_archive_and_pending_time(znuny_db):
    run_import(znuny_db)
    by_id = {
        int(k): v
        for k, v in ImportedObject.objects.filter(kind="ticket").values_list(
            "source_id", "target_id"
        )
    }
    source = open_source(znuny_db)
    try:
        links = source.all(
            "SELECT source_key, target_key, lt.name AS type FROM link_relation lr "
            "JOIN link_type lt ON lt.id = lr.type_id"
        )
        merges = source.all(
            "SELECT h.name FROM ticket_history h JOIN ticket_history_type ht "
            "ON ht.id = h.history_type_id WHERE ht.name = 'Merged'"
        )
        watchers = source.all("SELECT ticket_id, user_id FROM ticket_watcher")
        archived = {
            r["id"] for r in source.rows("SELECT id FROM ticket WHERE archive_flag = 1")
        }
        pending = source.all("SELECT id, until_time FROM ticket WHERE until_time > 0")
    finally:
        source.close()
    assert links and merges and watchers and archived and pending
    for link in links:
        ends = by_id[int(link["source_key"])], by_id[int(link["target_key"])]
        if link["type"] == "ParentChild":
            assert TicketLink.objects.filter(
                source_id=ends[0], target_id=ends[1], type=LinkType.PARENT_CHILD
            ).exists()
        else:
            assert TicketLink.objects.filter(
                source_id=min(ends), target_id=max(ends), type=LinkType.NORMAL
            ).exists()
    assert TicketLink.objects.count() == len(links)
    for merge in merges:
        _, merged_id, _, main_id = [p for p in merge["name"].split("%%") if p]
        merged = Ticket.objects.get(pk=by_id[int(merged_id)])
        assert merged.merged_into_id == by_id[int(main_id)]
        assert merged.state_type == "merged"
    assert TicketWatcher.objects.count() == len(watchers)
    assert set(Ticket.objects.filter(archived=True).values_list("pk", flat=True)) == {
        by_id[i] for i in archived
    }
    for row in pending:
        assert Ticket.objects.get(
            pk=by_id[row["id"]]
        ).pending_until == datetime.fromtimestamp(row["until_time"], UTC)
    # Znuny's history names the merge: shown as Helpline's merge entry.
    assert HistoryEntry.objects.filter(type=HistoryType.MERGED).count() == len(merges)
    assert HistoryEntry.objects.filter(type=HistoryType.IMPORTED).exists()


def test_times_are_converted_with_the_source_time_zone(znuny_db):
    """Znuny's local times read with --time-zone Europe/Berlin are an hour or two
    earlier in UTC than the same digits read as UTC."""
    run_import(znuny_db, time_zone="Europe/Berlin")
    source = open_source(znuny_db)
    try:
        row = source.one("SELECT id, create_time, change_time FROM ticket ORDER BY id")
    finally:
        source.close()
    assert row is not None
    pk = ImportedObject.objects.get(kind="ticket", source_id=str(row["id"])).target_id
    ticket = Ticket.objects.get(pk=pk)
    berlin = ZoneInfo("Europe/Berlin")
    assert ticket.created == row["create_time"].replace(tzinfo=berlin)
    assert ticket.changed == row["change_time"].replace(tzinfo=berlin)
    assert ticket.created != row["create_time"].replace(tzinfo=UTC)


def counts() -> dict[str, int]:
    return {
        "tickets": Ticket.objects.count(),
        "articles": Article.objects.count(),
        "attachments": Attachment.objects.count(),
        "history": HistoryEntry.objects.count(),
        "links": TicketLink.objects.count(),
        "watchers": TicketWatcher.objects.count(),
        "mapped": ImportedObject.objects.count(),
    }


def test_a_second_run_changes_nothing(znuny_db):
    run_import(znuny_db)
    before = counts()
    versions = dict(Ticket.objects.values_list("pk", "version"))
    report = run_import(znuny_db)
    assert counts() == before
    assert dict(Ticket.objects.values_list("pk", "version")) == versions
    for kind in ("ticket", "article", "attachment", "history", "link"):
        assert report[kind].imported == 0, kind
        assert report[kind].updated == 0, kind


NEW_NOTE = """
my $TicketObject = $Kernel::OM->Get('Kernel::System::Ticket');
my $ArticleObject = $Kernel::OM->Get('Kernel::System::Ticket::Article');
my $Backend = $ArticleObject->BackendForChannel(ChannelName => 'Internal');
my $ArticleID = $Backend->ArticleCreate(
    TicketID => %d, SenderType => 'agent', IsVisibleForCustomer => 0,
    UserID => 2, HistoryType => 'AddNote', HistoryComment => 'a note',
    From => 'Alice <alice@example.org>', Subject => 'Delta note',
    Body => 'Written after the first import.', ContentType => 'text/plain; charset=utf8',
    Attachment => [{ Content => "delta bytes\\x00\\x01", ContentType => 'application/octet-stream', Filename => 'delta.bin' }],
);
$TicketObject->TicketStateSet(TicketID => %d, State => 'open', UserID => 2);
print "$ArticleID\\n";
"""


def test_a_change_made_by_znuny_is_brought_over_by_the_next_run(znuny_copy):
    """A note with an attachment and a state change, made with Znuny's own API on a
    copy, arrive with the next run; nothing else is touched or duplicated."""
    run_import(znuny_copy)
    before = counts()
    source = open_source(znuny_copy)
    try:
        row = source.one(
            "SELECT t.id FROM ticket t JOIN ticket_state s ON s.id = t.ticket_state_id "
            "WHERE s.name = 'new' ORDER BY t.id"
        )
    finally:
        source.close()
    assert row is not None
    tid = row["id"]
    article_id = sources.perl(znuny_copy, NEW_NOTE % (tid, tid)).strip()
    report = run_import(znuny_copy)
    after = counts()
    assert after["tickets"] == before["tickets"]
    assert after["articles"] == before["articles"] + 1
    assert after["attachments"] == before["attachments"] + 1
    assert after["history"] > before["history"]
    assert report["ticket"].updated == 1
    pk = ImportedObject.objects.get(kind="ticket", source_id=str(tid)).target_id
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.state.name == "open"
    note = Article.objects.get(
        pk=ImportedObject.objects.get(kind="article", source_id=article_id).target_id
    )
    assert note.subject == "Delta note" and note.channel == "internal"
    assert read_blob(note.attachments.get().blob) == b"delta bytes\x00\x01"
    source = open_source(znuny_copy)
    try:
        assert verify(source) == []
    finally:
        source.close()


KILLED_CHILD = """
import sys, time
import django
django.setup()
from helpline.importers.znuny import tickets, tickets_copy
tickets.BATCH = 20
tickets_copy.BULK_TICKETS = 1  # PostgreSQL: the search indexes deferred
slow = tickets.Batch.run
def run(self, ids):
    slow(self, ids)
    time.sleep(0.3)
tickets.Batch.run = run
from django.core.management import call_command
call_command("import_data", "znuny", "--source", sys.argv[1], "--no-progress")
"""


def search_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'helpline_ticket' "
            "AND indexname = ANY(%s)",
            [list(GIN_INDEXES)],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_killed_midway_and_run_again_ends_complete_without_duplicates(
    znuny_db, tmp_path
):
    source = open_source(znuny_db)
    # SQLite's index is a virtual table the flush after a transactional test leaves
    # as it was: entries of earlier tests' tickets would be counted below.
    get_backend().clear()
    env = {
        **os.environ,
        "HELPLINE_DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
        "HELPLINE_ATTACHMENT_DIR": str(tmp_path / "media"),
    }
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", KILLED_CHILD, znuny_db.url],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = ImportedObject.objects.filter(kind="ticket").count()
        if done >= 40 or child.poll() is not None:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done = ImportedObject.objects.filter(kind="ticket").count()
    total = source.count("ticket")
    assert 0 < done < total, "the run was not killed in the middle"
    assert Ticket.objects.count() == done  # each batch whole, with its mapping
    if connection.vendor == "postgresql":  # the killed run had dropped them
        assert search_indexes() == set()
    runner.run(source)  # too few tickets to defer them: it builds them again
    assert Ticket.objects.count() == total
    if connection.vendor == "postgresql":
        assert search_indexes() == set(GIN_INDEXES)
    assert get_backend().indexed_count() == total
    assert verify(source) == []
    numbers = list(Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))
    source.close()
    assert tickets.BATCH == 500
