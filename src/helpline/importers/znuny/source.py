"""Reading a Znuny database: PostgreSQL or MySQL/MariaDB, read-only.

Znuny stores times as local time without a zone (``timestamp(0)``/``DATETIME``) in the
zone of its ``OTRSTimeZone`` setting, and on PostgreSQL its "LONGBLOB" columns are
``TEXT`` holding base64 (Znuny's ``DirectBlob`` off); on MySQL they hold the bytes.
``Source`` hides both: ``when()`` gives an aware UTC datetime, ``blob()`` bytes.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpline.errors import HelplineError

BATCH = 2000

# The "LONGBLOB" columns Znuny writes through its ``DirectBlob`` switch: base64 text on
# PostgreSQL, the bytes themselves on MySQL (Kernel/System/DB/{postgresql,mysql}.pm and
# the modules that check ``GetDatabaseFunction('DirectBlob')`` before writing).  Every
# other MySQL LONGBLOB column (preferences, SysConfig values, ...) is text that
# PostgreSQL keeps as TEXT: ``rows()`` hands it out as ``str`` on both.
BLOB_COLUMNS = frozenset(
    {
        ("article_data_mime_plain", "body"),
        ("article_data_mime_attachment", "content"),
        ("standard_attachment", "content"),
        ("web_upload_cache", "content"),
        ("virtual_fs_db", "content"),
        ("package_repository", "content"),
        ("mail_queue", "raw_message"),
        ("form_draft", "content"),
    }
)
_cursor_names = itertools.count(1)
_QUERY = re.compile(r"\s*(select|with)\b", re.IGNORECASE)
_MYSQL_BINARY = 63  # the charset number MySQL reports for binary columns


class SourceError(HelplineError):
    """The source database cannot be read as a Znuny database."""


@dataclass
class Source:
    """A connection to a Znuny database, given as a URL.

    ``postgresql://user:password@host:port/dbname`` or
    ``mysql://user:password@host:port/dbname`` (MariaDB too).  ``article_dir`` is
    Znuny's ``var/article`` when articles are stored in the file system
    (``ArticleStorageFS``).  ``time_zone`` overrides the source's ``OTRSTimeZone``.
    """

    url: str
    article_dir: Path | None = None
    time_zone: str | None = None
    name: str = "znuny"
    dialect: str = field(init=False)
    zone: ZoneInfo = field(init=False)
    _conn: Any = field(init=False, default=None, repr=False)
    _stream: _Stream | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        scheme = parts.scheme.split("+")[0]
        if scheme in ("postgres", "postgresql", "pgsql"):
            self.dialect = "postgresql"
        elif scheme in ("mysql", "mariadb"):
            self.dialect = "mysql"
        else:
            raise SourceError(
                f"unknown source database {parts.scheme!r}: use postgresql://... or mysql://..."
            )
        if self.article_dir is not None:
            self.article_dir = Path(self.article_dir)
            if not self.article_dir.is_dir():
                raise SourceError(
                    f"article directory {self.article_dir} does not exist"
                )
        self._conn = self._connect(parts)
        zone_name = self.time_zone or self._configured_zone() or "UTC"
        try:
            self.zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SourceError(f"unknown time zone {zone_name!r}") from exc

    # --- connection ------------------------------------------------------------------
    def _connect(self, parts: Any) -> Any:
        user = unquote(parts.username or "")
        password = unquote(parts.password or "")
        dbname = unquote(parts.path.lstrip("/"))
        host = parts.hostname or "127.0.0.1"
        if not dbname:
            raise SourceError("the source URL names no database")
        try:
            if self.dialect == "postgresql":
                import psycopg

                conn = psycopg.connect(
                    host=host,
                    port=parts.port or 5432,
                    user=user or None,
                    password=password or None,
                    dbname=dbname,
                    autocommit=False,
                )
                # One consistent snapshot for the whole run, and never a write: set
                # on the connection, so a transaction after a rollback has them too.
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                return conn
            import pymysql

            conn = pymysql.connect(
                host=host,
                port=parts.port or 3306,
                user=user or "root",
                password=password,
                database=dbname,
                charset="utf8mb4",
                autocommit=False,
            )
            with conn.cursor() as cur:
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cur.execute("SET SESSION TRANSACTION READ ONLY")
                cur.execute("SET time_zone = '+00:00'")
            self._conn = conn
            self._begin()
            return conn
        except ImportError as exc:  # pragma: no cover - both are dependencies
            raise SourceError(
                f"the driver for {self.dialect} is missing: {exc}"
            ) from exc
        except Exception as exc:
            raise SourceError(f"cannot connect to the source database: {exc}") from exc

    def _begin(self) -> None:
        """MySQL: one snapshot from here on (PostgreSQL takes it at the first read)."""
        if self.dialect == "mysql":
            with self._conn.cursor() as cur:
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")

    def _rollback(self) -> None:
        self._end_stream()
        self._conn.rollback()
        self._begin()

    def recover(self) -> None:
        """After a failed read: PostgreSQL refuses every further query of the failed
        transaction, so it is rolled back (the next read takes a new snapshot)."""
        if self._conn is None or self.dialect != "postgresql":
            return  # MySQL goes on after a failed statement, snapshot and all
        from psycopg import pq

        if self._conn.info.transaction_status == pq.TransactionStatus.INERROR:
            self._rollback()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        if self._conn is not None:
            try:
                self._conn.rollback()
            finally:
                self._conn.close()
                self._conn = None

    def _configured_zone(self) -> str | None:
        """``OTRSTimeZone`` as the site set it in the SysConfig, if it did."""
        try:
            row = self.one(
                "SELECT effective_value FROM sysconfig_modified WHERE name = %s",
                ("OTRSTimeZone",),
            )
        except Exception:  # older OTRS: no sysconfig_modified
            self._rollback()
            return None
        if not row or not row["effective_value"]:
            return None
        # The value is YAML: "--- Europe/Berlin" or "--- 'Europe/Berlin'".
        value = str(row["effective_value"]).strip()
        value = value.removeprefix("---").strip().strip("'\"")
        return value or None

    # --- reading ---------------------------------------------------------------------
    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Every row of a query, as dicts, fetched in batches.

        PostgreSQL: a named (server-side) cursor inside the snapshot transaction.
        MySQL: an unbuffered cursor (``SSCursor``): rows come off the wire as they are
        read.  MySQL allows one unbuffered result per connection, so a query made
        while another is still being read first buffers the rest of that one.
        """
        if self.dialect == "mysql":
            yield from self._mysql_rows(sql, params)
            return
        # A named cursor streams, but only a query can be declared as one.
        streaming = _QUERY.match(sql) is not None
        cur = (
            self._conn.cursor(name=f"rows_{next(_cursor_names)}")
            if streaming
            else self._conn.cursor()
        )
        try:
            cur.execute(sql, tuple(params))
            names = [d[0] for d in cur.description]
            while True:
                batch = cur.fetchmany(BATCH)
                if not batch:
                    return
                for row in batch:
                    yield dict(zip(names, row, strict=True))
        finally:
            cur.close()

    def _mysql_rows(self, sql: str, params: Sequence[Any]) -> Iterator[dict[str, Any]]:
        import pymysql.cursors

        self._end_stream()
        cur = self._conn.cursor(pymysql.cursors.SSCursor)
        stream = _Stream(cur)
        self._stream = stream
        try:
            cur.execute(sql, tuple(params))
            fields = cur._result.fields  # noqa: SLF001 - pymysql's column origins
            names = [f.name for f in fields]
            texts = [
                i
                for i, f in enumerate(fields)
                if f.charsetnr == _MYSQL_BINARY
                and f.type_code in _MYSQL_BLOB_TYPES
                and (f.org_table, f.org_name) not in BLOB_COLUMNS
            ]
            while True:
                batch = stream.next_batch()
                if not batch:
                    return
                for row in batch:
                    values = list(row)
                    for i in texts:
                        if isinstance(values[i], bytes):
                            values[i] = values[i].decode("utf-8", "replace")
                    yield dict(zip(names, values, strict=True))
        finally:
            if self._stream is stream:
                self._stream = None
            stream.close()

    def _end_stream(self) -> None:
        """Before another query: the open unbuffered result's rest into memory."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.drain()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self.rows(sql, params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        for row in self.rows(sql, params):
            return row
        return None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))

    def count(self, table: str) -> int:
        if not table.replace("_", "").isalnum():
            raise ValueError(table)
        return int(self.scalar(f"SELECT COUNT(*) FROM {table}") or 0)  # noqa: S608

    # --- values ----------------------------------------------------------------------
    def when(self, value: datetime | str | None) -> datetime | None:
        """A Znuny time (local, naive) as an aware UTC datetime; ``ValueError`` for
        one that is none (MySQL hands an invalid DATETIME as text)."""
        if value is None:
            return None
        if isinstance(value, str):
            if value.startswith("0000"):
                return None
            value = datetime.fromisoformat(value)
        try:
            if value.tzinfo is None:
                value = value.replace(tzinfo=self.zone)
            return value.astimezone(UTC)
        except (OverflowError, OSError) as exc:  # e.g. year 1 east of UTC
            raise ValueError(f"time out of range: {value}") from exc

    def blob(self, value: bytes | memoryview | str | None) -> bytes:
        """A Znuny LONGBLOB column's bytes (base64 text on PostgreSQL)."""
        if value is None:
            return b""
        if isinstance(value, memoryview):
            return value.tobytes()
        if isinstance(value, bytes):
            if self.dialect == "postgresql":
                return _b64(value)
            return value
        if self.dialect == "postgresql":
            return _b64(value.encode("utf-8", "surrogateescape"))
        return value.encode("utf-8", "surrogateescape")

    def text(self, value: bytes | memoryview | str | None) -> str:
        """A text column, as Helpline may store it (``clean_text``): MySQL may hand
        bytes for binary-collated columns."""
        if value is None:
            return ""
        if isinstance(value, memoryview):
            value = value.tobytes()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return clean_text(str(value))

    def article_path(self, *parts: str) -> Path | None:
        if self.article_dir is None:
            return None
        path = self.article_dir.joinpath(*parts)
        # Never leave the article directory, whatever a row says.
        if os.path.commonpath([path.resolve(), self.article_dir.resolve()]) != str(
            self.article_dir.resolve()
        ):
            return None
        return path


_MYSQL_BLOB_TYPES = frozenset({249, 250, 251, 252})  # TINY/MEDIUM/LONG/BLOB


class _Stream:
    """An unbuffered MySQL result being read.

    ``drain()`` (another query is about to run) keeps the unread rows in memory for
    the reader; ``close()`` (the reader stopped) lets the server's rest go unread.
    """

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.buffer: list[tuple[Any, ...]] | None = None
        self.at = 0

    def next_batch(self) -> Sequence[tuple[Any, ...]]:
        if self.buffer is None:
            return self.cursor.fetchmany(BATCH)
        batch = self.buffer[self.at : self.at + BATCH]
        self.at += len(batch)
        return batch

    def drain(self) -> None:
        if self.buffer is None:
            self.buffer = (
                list(self.cursor.fetchall()) if self.cursor.description else []
            )
            self.cursor.close()

    def close(self) -> None:
        if self.buffer is None:
            self.cursor.close()  # pymysql reads the rest off the wire and drops it
        self.buffer = []


def _b64(data: bytes) -> bytes:
    """Base64 as Znuny wrote it; a value with a space in it was never encoded (rows
    not written through Znuny's API, e.g. initial_insert's welcome mail: Znuny's
    ArticleStorageDB decodes only values without one)."""
    if b" " in data:
        return data
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return data


def clean_text(value: str) -> str:
    """Text as Helpline can store it: without NUL characters, which PostgreSQL's text
    columns refuse (Znuny never writes them; a damaged row may hold them)."""
    return value.replace("\x00", "") if "\x00" in value else value
