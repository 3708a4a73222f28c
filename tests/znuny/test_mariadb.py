"""The same Znuny rows on PostgreSQL and on MariaDB read alike through Source."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from datetime import UTC

import pymysql.cursors
import pytest

from helpline.blobstore import read_blob
from helpline.importers.znuny import runner
from helpline.importers.znuny import source as source_module
from helpline.importers.znuny.source import BLOB_COLUMNS, Source
from helpline.importers.znuny.verify import verify
from helpline.models import Article, Attachment, HistoryEntry, Ticket


@pytest.fixture(scope="module")
def both(znuny_db, znuny_mariadb):
    pg, my = Source(znuny_db.url), Source(znuny_mariadb)
    yield pg, my
    pg.close()
    my.close()


def _tables(pg: Source) -> list[str]:
    return [
        r["table_name"]
        for r in pg.rows(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
    ]


def _normal(source: Source, table: str) -> list[str]:
    out = []
    for row in source.rows(f"SELECT * FROM {table}"):  # noqa: S608
        for name in row:
            if (table, name) in BLOB_COLUMNS:
                row[name] = hashlib.sha256(source.blob(row[name])).hexdigest()
        out.append(repr(sorted(row.items())))
    return sorted(out)


def test_the_dialects(both):
    pg, my = both
    assert (pg.dialect, my.dialect) == ("postgresql", "mysql")


def test_mysql_is_read_only_too(znuny_mariadb):
    source = Source(znuny_mariadb)
    try:
        with pytest.raises(Exception, match="READ ONLY"):
            source.scalar("UPDATE ticket SET title = 'x' WHERE id = 1")
        source._rollback()  # a new snapshot, still read-only
        with pytest.raises(Exception, match="READ ONLY"):
            source.scalar("UPDATE ticket SET title = 'x' WHERE id = 1")
    finally:
        source.close()


def test_every_table_holds_the_same_rows(both):
    pg, my = both
    tables = _tables(pg)
    assert len(tables) > 100
    filled = 0
    for table in tables:
        assert pg.count(table) == my.count(table), table
        # every value alike: ints, Decimals, naive times, text (MySQL's LONGBLOB text
        # columns come out as str, like PostgreSQL's TEXT) and blob bytes
        assert _normal(pg, table) == _normal(my, table), table
        filled += pg.count(table) > 0
    assert filled > 40


def test_a_blobs_bytes_are_equal(both):
    pg, my = both
    sql = (
        "SELECT id, content, content_size FROM article_data_mime_attachment"
        " WHERE content_type LIKE %s ORDER BY id"
    )
    a = pg.all(sql, ("image/%",))
    b = my.all(sql, ("image/%",))
    assert a and len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert isinstance(
            y["content"], bytes
        )  # raw on MySQL, base64 text on PostgreSQL
        assert isinstance(x["content"], str)
        assert pg.blob(x["content"]) == my.blob(y["content"])
        assert len(my.blob(y["content"])) == int(y["content_size"])


def test_times_are_the_same_aware_utc(both):
    pg, my = both
    sql = "SELECT id, create_time, change_time FROM ticket ORDER BY id"
    for x, y in zip(pg.rows(sql), my.rows(sql), strict=True):
        assert x["id"] == y["id"]
        when = my.when(y["create_time"])
        assert when is not None and when.tzinfo == UTC
        assert pg.when(x["create_time"]) == when
        assert pg.when(x["change_time"]) == my.when(y["change_time"])


def test_mysql_streams_and_a_query_inside_a_stream_works(both, monkeypatch):
    pg, my = both
    # small batches: the rest buffered by a query inside the stream spans many
    monkeypatch.setattr(source_module, "BATCH", 100)
    sql = "SELECT id, ticket_id FROM ticket_history ORDER BY id"
    inner = "SELECT tn FROM ticket WHERE id = %s"
    assert pg.count("ticket_history") > 2000
    seen = {}
    rows = my.rows(sql)
    first = next(rows)
    # the rows come off the wire as they are read: an unbuffered cursor is open
    assert my._stream is not None
    assert isinstance(my._stream.cursor, pymysql.cursors.SSCursor)
    for n, row in enumerate(itertools.chain([first], rows)):  # lazily
        seen[row["id"]] = (
            my.scalar(inner, (row["ticket_id"],)) if n % 100 == 0 else None
        )
    expected = {
        r["id"]: pg.scalar(inner, (r["ticket_id"],)) if n % 100 == 0 else None
        for n, r in enumerate(pg.rows(sql))
    }
    assert seen == expected
    assert len(seen) == pg.count("ticket_history")
    # a reader that stops early leaves no result open
    assert my.one(sql) == {"id": first["id"], "ticket_id": first["ticket_id"]}
    assert my._stream is None
    assert my.count("ticket") > 0


def test_znuny_sql_gives_both_databases(znuny_sql):
    source = Source(znuny_sql)
    try:
        assert source.count("ticket") > 0
        assert source.zone.key == "UTC"
    finally:
        source.close()


@pytest.mark.django_db
def test_the_import_from_mariadb_is_complete(znuny_mariadb):
    """`helpline import znuny` from MySQL: every ticket, article, history row and
    attachment byte, and verify() finds no difference."""
    source = Source(znuny_mariadb)
    try:
        runner.run(source)
        numbers = {r["tn"] for r in source.rows("SELECT tn FROM ticket")}
        assert set(Ticket.objects.values_list("number", flat=True)) == numbers
        assert len(numbers) > 300
        assert Article.objects.count() == source.count("article")
        assert HistoryEntry.objects.count() == source.count("ticket_history")
        ours = Counter(
            hashlib.sha256(read_blob(a.blob)).hexdigest()
            for a in Attachment.objects.select_related("blob")
        )
        theirs = Counter(
            hashlib.sha256(source.blob(r["content"])).hexdigest()
            for r in source.rows("SELECT content FROM article_data_mime_attachment")
        )
        assert ours == theirs and sum(ours.values()) > 700
        assert verify(source) == []
    finally:
        source.close()
