"""Bulk writes on PostgreSQL without Django's per-field statement building: the
importer's bulk inserts of rows whose ids nobody reads back (history entries, new
mapping rows) go through ``COPY``, and new blobs through one ``INSERT ... SELECT
unnest(...)`` with binary parameters (Django's client-side binding would spell every
byte of a mail as hex inside the SQL text).  Other databases use ``bulk_create``.

Nothing here bypasses an invariant: these tables have no counters or search entries
of their own, and the rows are exactly those ``bulk_create`` would write.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def insert_models(objects: Sequence[Model]) -> None:
    """New rows of one model (no signals, as ``bulk_create``), their ids set on them.
    PostgreSQL: the ids are drawn from the table's sequence first (in one query, in
    order) and the rows written with ``COPY``; the others ``bulk_create``."""
    if not objects:
        return
    model = type(objects[0])
    if not fast():
        model._default_manager.bulk_create(objects, batch_size=500)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    with _raw().cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objects)],
        )
        ids = sorted(row[0] for row in cur.fetchall())
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    copy_rows(
        meta.db_table,
        [meta.pk.column, *(f.column for f in fields)],
        [
            (obj.pk, *(f.pre_save(obj, True) for f in fields))  # noqa: FBT003
            for obj in objects
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
    """Insert these inline blobs (another writer's identical one is kept); each
    returned with its id."""
    if not fast():
        Blob.objects.bulk_create(
            new,
            update_conflicts=True,
            unique_fields=["sha256"],
            update_fields=["size"],
            batch_size=200,
        )
        return list(new)
    import psycopg

    now = timezone.now()
    stored: list[Blob] = []
    table = Blob._meta.db_table
    with psycopg.Cursor(_raw()) as cur:  # server-side binding: bytes sent as bytes
        for start in range(0, len(new), 200):
            part = new[start : start + 200]
            cur.execute(
                f"INSERT INTO {table} (sha256, size, data, created) "  # noqa: S608
                "SELECT * FROM unnest(%s::varchar[], %s::bigint[], %b::bytea[], "
                "%s::timestamptz[]) "
                "ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size "
                "RETURNING id, sha256",
                [
                    [b.sha256 for b in part],
                    [b.size for b in part],
                    [b.data for b in part],
                    [now] * len(part),
                ],
            )
            ids = dict((sha, pk) for pk, sha in cur.fetchall())
            for blob in part:
                blob.pk = ids[blob.sha256]
                blob.created = now
                stored.append(blob)
    return stored
