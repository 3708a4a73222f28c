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
