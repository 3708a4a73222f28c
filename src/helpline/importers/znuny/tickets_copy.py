"""Bulk writes on PostgreSQL without Django's per-field statement building: the
importer's bulk inserts go through ``COPY`` (history entries and new mapping rows,
whose ids nobody reads back; articles, attachments and new blobs with ids drawn from
their sequences first), new blobs in binary (Django's client-side binding would
spell every byte of a mail as hex inside the SQL text).  Other databases use
``bulk_create``.

Nothing here bypasses an invariant: these tables have no counters or search entries
of their own, and the rows are exactly those ``bulk_create`` would write.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from helpline.importers.znuny.tickets_history import EntryRow
from helpline.models import Blob, HistoryEntry, ImportedObject


def fast() -> bool:
    return connection.vendor == "postgresql"


def _raw() -> Any:
    connection.ensure_connection()
    return connection.connection


def copy_rows(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``COPY table (columns) FROM STDIN`` these rows, in the current transaction."""
    if not rows:
        return
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with _raw().cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def reserve_ids(objects: Sequence[Model]) -> None:
    """PostgreSQL: ids for these new rows of one model, drawn from the table's
    sequence (in one query, in order) and set on them."""
    if not objects:
        return
    meta = type(objects[0])._meta
    with _raw().cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objects)],
        )
        ids = sorted(row[0] for row in cur.fetchall())
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk


def insert_models(
    objects: Sequence[Model], *, extra: dict[str, Sequence[Any]] | None = None
) -> None:
    """New rows of one model (no signals, as ``bulk_create``), their ids set on them.
    PostgreSQL: the ids are drawn from the table's sequence first (``reserve_ids``,
    unless the caller did) and the rows written with ``COPY``, with the ``extra``
    columns (name -> a value per row) that are no fields of the model; the others
    ``bulk_create`` (no ``extra``)."""
    if not objects:
        return
    model = type(objects[0])
    if not fast():
        if extra:
            raise ValueError("extra columns are written on PostgreSQL only")
        model._default_manager.bulk_create(objects, batch_size=500)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    if any(obj.pk is None for obj in objects):
        reserve_ids(objects)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias
    extra = extra or {}
    columns = list(extra.values())
    copy_rows(
        meta.db_table,
        [meta.pk.column, *(f.column for f in fields), *extra],
        [
            (
                obj.pk,
                *(f.pre_save(obj, True) for f in fields),  # noqa: FBT003
                *(column[index] for column in columns),
            )
            for index, obj in enumerate(objects)
        ],
    )


def insert_history(entries: Sequence[EntryRow]) -> None:
    """New history entries (``tickets_history.history_rows``)."""
    if not fast():
        HistoryEntry.objects.bulk_create(
            [
                HistoryEntry(
                    ticket_id=ticket_id,
                    type=kind,
                    actor_id=actor_id,
                    created=created,
                    article_id=article_id,
                    data=data,
                )
                for ticket_id, kind, actor_id, created, article_id, data in entries
            ],
            batch_size=500,
        )
        return
    from psycopg.types.json import Jsonb

    copy_rows(
        HistoryEntry._meta.db_table,
        ["ticket_id", "type", "actor_id", "created", "article_id", "data"],
        [
            (ticket_id, str(kind), actor_id, created, article_id, Jsonb(data))
            for ticket_id, kind, actor_id, created, article_id, data in entries
        ],
    )


def insert_mapping(
    source: str,
    kind: str,
    rows: Sequence[tuple[str, int | None, str, dict[str, Any], str]],
) -> None:
    """New mapping rows (source_id, target_id, stamp, cursor, note) of one kind,
    with ``COPY`` (PostgreSQL only: ``fast()``); their ids are not read back."""
    from psycopg.types.json import Jsonb

    copy_rows(
        ImportedObject._meta.db_table,
        ["source", "kind", "source_id", "target_id", "stamp", "cursor", "note"],
        [
            (source, kind, key, target_id, stamp, Jsonb(cursor), note)
            for key, target_id, stamp, cursor, note in rows
        ],
    )


def insert_blobs(new: Sequence[Blob]) -> list[Blob]:
    """Insert these inline blobs, which the caller looked up and did not find; each
    returned with its id.  PostgreSQL: their ids drawn from the sequence first, the
    rows written with a binary ``COPY`` (the bytes as they are, streamed: the server
    stores one while the next is sent).  Another writer storing the same bytes
    between the look-up and the commit makes the batch fail on the unique SHA-256:
    it is then written again ticket by ticket (``tickets.Batch.run``), which finds
    that blob.  Elsewhere ``bulk_create``, keeping another writer's identical one."""
    if not fast():
        Blob.objects.bulk_create(
            new,
            update_conflicts=True,
            unique_fields=["sha256"],
            update_fields=["size"],
            batch_size=200,
        )
        return list(new)
    from psycopg import sql

    if not new:
        return []
    now = timezone.now()
    meta = Blob._meta
    with _raw().cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(new)],
        )
        ids = sorted(row[0] for row in cur.fetchall())
    statement = sql.SQL(
        "COPY {} (id, sha256, size, data, created) FROM STDIN (FORMAT BINARY)"
    ).format(sql.Identifier(meta.db_table))
    with _raw().cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(
            [meta.pk.db_type(connection), "text", "bigint", "bytea", "timestamptz"]
        )
        for blob, pk in zip(new, ids, strict=True):
            copy.write_row((pk, blob.sha256, blob.size, blob.data, now))
            blob.pk = pk
            blob.created = now
            blob._state.adding = False
            blob._state.db = connection.alias
    return list(new)


# A run bringing at least this many tickets, more than the site holds, writes the
# search entries without the GIN indexes over them (``deferred_search_indexes``).
BULK_TICKETS = 10_000


@contextmanager
def deferred_search_indexes(tickets: int, *, dry_run: bool) -> Iterator[None]:
    """PostgreSQL: the whole import of a site (``tickets`` to read, at least
    ``BULK_TICKETS`` and more than Helpline holds) drops the search entries' GIN
    indexes and builds them once at the end, as ``helpline search reindex`` does:
    adding every ticket's words to four GIN indexes batch by batch is slower than
    building them, and grows with them.  Meanwhile searches work, unindexed.  A run
    killed in between leaves them missing: the next run of the import finds that and
    builds them at its end (so does ``helpline search reindex``).  A dry run, a
    delta, and any run inside a transaction leave them alone."""
    if not fast() or dry_run or connection.in_atomic_block:
        yield
        return
    from helpline.models import Ticket
    from helpline.search.base import get_backend
    from helpline.search.postgres import GIN_INDEXES

    backend = get_backend()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'helpline_ticket' "
            "AND indexname = ANY(%s)",
            [list(GIN_INDEXES)],
        )
        missing = cursor.fetchone()[0] < len(GIN_INDEXES)
    bulk = tickets >= BULK_TICKETS and Ticket.objects.count() < tickets
    if bulk:
        backend.begin_bulk()
    yield
    if bulk or missing:
        backend.end_bulk()
