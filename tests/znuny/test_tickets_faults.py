"""The tickets phase against damaged sources: a bad ticket, file or value costs that
ticket, file or value (reported), never the run, and the next run tries it again."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pytest

from helpline.blobstore import read_blob
from helpline.importers.znuny import runner, tickets
from helpline.importers.znuny.source import Source
from helpline.importers.znuny.verify import fs_attachments
from helpline.models import (
    Article,
    Attachment,
    HistoryEntry,
    ImportedObject,
    ImportRun,
    Ticket,
)

pytestmark = pytest.mark.django_db


def _ticket_with_articles(source: Source, nth: int) -> int:
    rows = source.all("SELECT DISTINCT ticket_id FROM article ORDER BY ticket_id")
    return int(rows[nth]["ticket_id"])


def _ids(kind: str) -> set[str]:
    return set(
        ImportedObject.objects.filter(kind=kind).values_list("source_id", flat=True)
    )


def test_unreadable_files_in_the_article_directory_cost_only_themselves(
    znuny_fs, tmp_path
):
    """Corrupt entries Znuny itself never writes, in a COPY of the article
    directory: one attachment file replaced by a directory (reading it fails), one
    by a symbolic link to a file outside (which must not be read).  The run
    completes; both are reported; every other attachment comes across."""
    article_dir = tmp_path / "article"
    assert znuny_fs.article_dir is not None
    shutil.copytree(znuny_fs.article_dir, article_dir, symlinks=True)
    source = Source(znuny_fs.url, article_dir=article_dir)
    try:
        files = sorted(fs_attachments(source))
        assert len(files) > 5
        (broken_key, broken), (linked_key, linked) = files[1], files[4]
        expected = Counter(
            path.read_bytes()
            for key, path in files
            if key not in {broken_key, linked_key}
        )
        broken.unlink()
        broken.mkdir()
        secret = tmp_path / "secret"
        secret.write_bytes(b"not for the ticket system")
        linked.unlink()
        linked.symlink_to(secret)
        report, _ = runner.run(source)
        total = source.count("ticket")
    finally:
        source.close()
    assert Ticket.objects.count() == total
    examples = report["attachment"].examples
    assert f"attachment {broken_key}: cannot be read: a directory" in examples
    assert f"attachment {linked_key}: cannot be read: a symbolic link" in examples
    assert report["attachment"].problems == 2
    assert broken_key not in _ids("attachment") and linked_key not in _ids("attachment")
    imported = Counter(
        read_blob(a.blob) for a in Attachment.objects.select_related("blob")
    )
    assert b"not for the ticket system" not in imported
    # Every other file of the directory came across byte-identical.
    assert expected - imported == Counter()


def _mysql(url: str) -> Any:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port,
        user=parts.username,
        password=parts.password,
        database=parts.path.lstrip("/"),
        charset="utf8mb4",
        autocommit=True,
    )


def test_nul_characters_are_left_out_of_every_text(znuny_mariadb):
    """A corrupt row Znuny would not write: NUL characters in a ticket's title and
    an article's subject, sender and attachment name and type (set by SQL in the
    test's private MariaDB and set back afterwards; PostgreSQL's text columns
    cannot hold a NUL, so a Znuny database on MySQL is where one can be met)."""
    conn = _mysql(znuny_mariadb)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT a.id, a.ticket_id, t.title, m.a_subject, m.a_from "
            "FROM article a JOIN ticket t ON t.id = a.ticket_id "
            "JOIN article_data_mime m ON m.article_id = a.id "
            "JOIN article_data_mime_attachment x ON x.article_id = a.id "
            "ORDER BY a.id LIMIT 1"
        )
        article_id, ticket_id, title, subject, sender = cur.fetchone()
        cur.execute(
            "SELECT id, filename, content_type FROM article_data_mime_attachment "
            "WHERE article_id = %s ORDER BY id LIMIT 1",
            (article_id,),
        )
        attachment_id, filename, content_type = cur.fetchone()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE ticket SET title = %s WHERE id = %s",
                ("Broken\x00 title", ticket_id),
            )
            cur.execute(
                "UPDATE article_data_mime SET a_subject = %s, a_from = %s "
                "WHERE article_id = %s",
                ("Broken\x00 subject", "a\x00b@example.org", article_id),
            )
            cur.execute(
                "UPDATE article_data_mime_attachment SET filename = %s, "
                "content_type = %s WHERE id = %s",
                ("file\x00.txt", "text/plain\x00", attachment_id),
            )
        source = Source(znuny_mariadb)
        try:
            report, _ = runner.run(source)
            total = source.count("ticket")
        finally:
            source.close()
    finally:
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE ticket SET title = %s WHERE id = %s", (title, ticket_id)
            )
            cur.execute(
                "UPDATE article_data_mime SET a_subject = %s, a_from = %s "
                "WHERE article_id = %s",
                (subject, sender, article_id),
            )
            cur.execute(
                "UPDATE article_data_mime_attachment SET filename = %s, "
                "content_type = %s WHERE id = %s",
                (filename, content_type, attachment_id),
            )
        conn.close()
    assert report["ticket"].skipped == 0
    assert Ticket.objects.count() == total
    mapped = ImportedObject.objects.get(kind="ticket", source_id=str(ticket_id))
    assert Ticket.objects.get(pk=mapped.target_id).title == "Broken title"
    pk = ImportedObject.objects.get(kind="article", source_id=str(article_id)).target_id
    article = Article.objects.get(pk=pk)
    assert article.subject == "Broken subject"
    assert article.from_addr == "ab@example.org"
    pk = ImportedObject.objects.get(
        kind="attachment", source_id=str(attachment_id)
    ).target_id
    attachment = Attachment.objects.get(pk=pk)
    assert (attachment.filename, attachment.content_type) == ("file.txt", "text/plain")


def test_a_ticket_that_cannot_be_read_costs_only_itself(znuny_db, monkeypatch):
    """Reading one ticket's articles fails (forced): that ticket is skipped with
    the reason, every other one comes across, the run finishes."""
    monkeypatch.setattr(tickets, "BATCH", 40)
    source = Source(znuny_db.url)
    bad = _ticket_with_articles(source, 45)  # in the second batch (read ahead)
    reading = tickets.art.read_articles

    def read_articles(src, ticket_ids, *args):
        if bad in ticket_ids:
            raise OSError("the disk said no")
        return reading(src, ticket_ids, *args)

    monkeypatch.setattr(tickets.art, "read_articles", read_articles)
    try:
        report, _ = runner.run(source)
        total = source.count("ticket")
    finally:
        source.close()
    assert Ticket.objects.count() == total - 1
    assert str(bad) not in _ids("ticket")
    assert report["ticket"].skipped == 1
    assert report["ticket"].examples == [
        f"ticket {bad}: cannot be imported: the disk said no"
    ]


def test_a_failed_ticket_is_counted_once_and_tried_again_by_the_next_run(
    znuny_db, monkeypatch
):
    """One ticket of a batch fails to be written (forced): the batch falls back
    to one ticket at a time; the report counts what is in Helpline, not the rolled
    back attempt as well.  The next (incremental) run imports it, though its
    ``change_time`` lies before that run's marks (no safety margin here: the test
    database's tickets all changed within ``CHANGE_MARGIN``)."""
    monkeypatch.setattr(tickets, "BATCH", 40)
    monkeypatch.setattr(runner, "CHANGE_MARGIN", timedelta(0))
    source = Source(znuny_db.url)
    bad = _ticket_with_articles(source, 10)
    writing = tickets.Batch._tickets

    def failing(self, rows, first_from):
        writing(self, rows, first_from)
        if any(int(row["id"]) == bad for row in rows):
            raise RuntimeError("forced failure")

    monkeypatch.setattr(tickets.Batch, "_tickets", failing)
    try:
        report, record = runner.run(source)
        total = source.count("ticket")
        assert str(bad) not in _ids("ticket")
        assert Ticket.objects.count() == total - 1
        assert report["ticket"].imported == total - 1
        assert report["ticket"].skipped == 1
        assert report["article"].imported == Article.objects.count()
        assert report["attachment"].imported == Attachment.objects.count()
        assert report["history"].imported == HistoryEntry.objects.count()
        assert report["raw_mail"].imported == (
            Article.objects.filter(raw__isnull=False).count()
        )
        assert record is not None
        assert ImportRun.objects.get(pk=record.pk).marks["retry_tickets"] == [bad]

        monkeypatch.setattr(tickets.Batch, "_tickets", writing)
        report, record = runner.run(source)
    finally:
        source.close()
    assert record is not None and record.options["incremental"]
    assert str(bad) in _ids("ticket")
    assert Ticket.objects.count() == total
    assert report["ticket"].imported == 1
    assert report["ticket"].skipped == 0
    assert "retry_tickets" not in ImportRun.objects.get(pk=record.pk).marks
