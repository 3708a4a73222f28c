"""``helpline backup`` of a running instance, and ``helpline restore`` into an empty one.

Mail arrives through the LMTP listener during the backup; the restore must be the state
of one moment (the snapshot): rows the live instance has (or had: a message stored at
that moment is processed later), every reference leading to a row, every blob it names
present with the right bytes.  Once mail stops, a second backup copies
only the new blobs, and its restore equals the live instance object by object.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.backup.instances import Instance
from tests.backup.mail_flow import MailFlow

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def by_id(rows: list[tuple[Any, ...]]) -> dict[Any, dict[str, Any]]:
    columns, *values = rows
    return {row[0]: dict(zip(columns, row, strict=True)) for row in values}


def changed_fields(table: str, old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {name for name in old if old[name] != new[name]}


def stored_blobs(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    return {
        blob["sha256"]: blob["size"]
        for blob in by_id(rows["helpline_blob"]).values()
        if blob["data"] is None
    }


def assert_blobs_equal(restored: Instance, source: Instance, shas: dict[str, int]):
    """Every blob's bytes, read from each instance's own storage."""
    from helpline.models import Blob

    theirs, ours = restored.store.storage(), source.store.storage()
    for sha, size in shas.items():
        name = Blob(sha256=sha).path
        with theirs.open(name, "rb") as fh:
            restored_bytes = fh.read()
        with ours.open(name, "rb") as fh:
            assert restored_bytes == fh.read(), sha
        assert len(restored_bytes) == size


def foreign_keys_hold(instance: Instance) -> int:
    """The number of foreign keys, after checking that every row satisfies them."""
    conn = instance.connect()
    try:
        if isinstance(conn, sqlite3.Connection):
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master")]
            return sum(
                len(conn.execute(f'PRAGMA foreign_key_list("{t}")').fetchall())
                for t in tables
            )
        # PostgreSQL validated every constraint as pg_restore created it.
        ((unchecked, total),) = conn.execute(
            "SELECT count(*) FILTER (WHERE NOT convalidated), count(*) "
            "FROM pg_constraint WHERE contype = 'f'"
        ).fetchall()
        assert unchecked == 0
        return int(total)
    finally:
        conn.close()


# Rows that change after they are written while mail arrives: a stored message is
# processed (status, ticket, reason) a moment later by another transaction, and the
# ticket-number counter moves on.  Any other difference is a bug of the backup.
MAY_CHANGE = {
    "helpline_inbound_message": {"status", "ticket_id", "article_id", "processed",
                                 "reason", "decisions", "error", "attempts"},
    "helpline_ticket_counter": {"value"},
}  # fmt: skip
# SQLite's full-text index (FTS5's own b-tree pages) is rewritten as documents
# arrive; compared only once mail has stopped, below.
INDEX_PAGES = "helpline_search_fts_"


def test_a_backup_made_while_mail_arrives_restores_to_one_moment_then_to_equality(
    source, empty_instances, tmp_path
):
    dest = str(tmp_path / "backups")
    flow = MailFlow(source)
    try:
        flow.start()
        flow.wait_for(15)
        before = flow.delivered
        first = source.run_json("backup", dest)
        after = flow.delivered
        flow.wait_for(after + 5)
    finally:
        flow.stop()
    assert after > before, "no mail arrived during the backup"

    restored = empty_instances.make()
    done = restored.run_json("restore", dest)
    assert done["restored"] and done["set"] == first["set"]

    live, snap = source.rows(), restored.rows()
    assert set(snap) == set(live)
    messages = by_id(snap["helpline_inbound_message"])
    # The snapshot fell between the start and the end of the backup (one message may
    # have been stored while its reply was still on the way).
    assert before <= len(messages) <= after + 1 < len(live["helpline_inbound_message"])
    for table, rows in snap.items():
        if table.startswith(INDEX_PAGES):
            continue
        if rows[0][0] != "id":  # e.g. many-to-many rows without an id of their own
            assert set(rows[1:]) <= set(live[table][1:]), table
            continue
        theirs, ours = by_id(rows), by_id(live[table])
        assert set(theirs) <= set(ours), f"{table}: rows that never existed"
        for pk, row in theirs.items():
            changed = changed_fields(table, row, ours[pk])
            assert changed <= MAY_CHANGE.get(table, set()), (table, pk, changed)
    # Consistent in itself: every reference leads to a row (a message to its blob and
    # ticket, an article to its ticket ...), every blob it names has its bytes.
    assert foreign_keys_hold(restored) == foreign_keys_hold(source) > 0
    tickets = by_id(snap["helpline_ticket"])
    for m in messages.values():
        assert m["ticket_id"] is None or m["ticket_id"] in tickets
    in_snapshot = stored_blobs(snap)
    assert len(in_snapshot) >= len(messages) and len(in_snapshot) == len(
        set(in_snapshot)
    )
    assert_blobs_equal(restored, source, in_snapshot)

    # Mail has stopped: a second backup copies only the blobs the first one lacks,
    # and restores to an instance equal to the live one, row by row and byte by byte.
    second = source.run_json("backup", dest)
    live_blobs = stored_blobs(live)
    assert second["blobs_in_storage"] == len(live_blobs)
    assert second["blobs_copied"] == len(set(live_blobs) - set(in_snapshot)) > 0
    again = empty_instances.make()
    again.run_json("restore", dest)
    assert again.rows() == source.rows()
    assert_blobs_equal(again, source, live_blobs)
