"""Reading a Znuny database: times in the source's zone, base64 blobs, read-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpline.importers.znuny.source import Source, SourceError


def test_reads_the_znuny_database_read_only(znuny_db):
    source = Source(znuny_db.url)
    try:
        assert source.dialect == "postgresql"
        assert source.count("ticket") > 300
        with pytest.raises(Exception, match="read-only"):
            source.scalar("UPDATE ticket SET title = 'x' WHERE id = 1 RETURNING id")
    finally:
        source.close()


def test_times_are_converted_from_the_configured_zone(znuny_db):
    source = Source(znuny_db.url, time_zone="Europe/Berlin")
    try:
        naive = datetime(2026, 7, 1, 12, 0, 0)
        assert source.when(naive) == datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC)
        assert source.when(None) is None
    finally:
        source.close()
    utc = Source(znuny_db.url)  # the database's OTRSTimeZone: UTC
    try:
        assert utc.zone.key == "UTC"
    finally:
        utc.close()


def test_blobs_are_base64_on_postgresql(znuny_db):
    source = Source(znuny_db.url)
    try:
        row = source.one(
            "SELECT content, content_size FROM article_data_mime_attachment ORDER BY id LIMIT 1"
        )
        assert row is not None
        assert len(source.blob(row["content"])) == int(row["content_size"])
    finally:
        source.close()


def test_a_bad_source_is_a_clear_error():
    with pytest.raises(SourceError, match="unknown source database"):
        Source("oracle://x/y")
    with pytest.raises(SourceError, match="cannot connect"):
        Source("postgresql://nobody@127.0.0.1:1/none")


def test_a_blob_with_a_space_was_never_base64(znuny_db):
    """Znuny decodes only values without a space (ArticleStorageDB): rows not written
    through its API, like initial_insert's welcome mail, are stored as they are."""
    source = Source(znuny_db.url)
    try:
        assert source.blob("abcd efgh") == b"abcd efgh"  # valid base64 once spaces go
        assert source.blob("YWJjZA==") == b"abcd"
        welcome = source.scalar(
            "SELECT body FROM article_data_mime_plain ORDER BY article_id LIMIT 1"
        )
        assert source.blob(welcome).startswith(b"From: Znuny")
    finally:
        source.close()


def test_a_failed_query_keeps_the_read_only_snapshot(znuny_copy):
    source = Source(znuny_copy.url)  # a writable database: Source itself refuses
    try:
        with pytest.raises(Exception, match="no_such_table"):
            source.scalar("SELECT 1 FROM no_such_table")
        source._rollback()
        # the next transaction is read-only too
        with pytest.raises(Exception, match="read-only"):
            source.scalar("UPDATE ticket SET title = 'x' WHERE id = 1 RETURNING id")
    finally:
        source.close()


def test_rows_stream_from_a_server_side_cursor_and_nest(znuny_db, monkeypatch):
    from helpline.importers.znuny import source as source_module

    monkeypatch.setattr(source_module, "BATCH", 100)
    source = Source(znuny_db.url)
    try:
        sql = "SELECT id, ticket_id FROM ticket_history ORDER BY id"
        rows = source.rows(sql)
        first = next(rows)
        # a named cursor is open on the server while the rows are read (the count
        # query's own is the other one)
        assert source.scalar("SELECT count(*) FROM pg_cursors") == 2
        seen = [first]
        for row in rows:
            if len(seen) % 500 == 0:
                assert source.scalar(
                    "SELECT id FROM ticket WHERE id = %s", (row["ticket_id"],)
                )
            seen.append(row)
        assert seen == source.all(sql)
        assert len(seen) == source.count("ticket_history") > 2000
        assert source.scalar("SELECT count(*) FROM pg_cursors") == 1
    finally:
        source.close()
