"""The columns data protection added to big tables: added in place (no table
rewrite on SQLite, no lock-holding index build on PostgreSQL), never null, and
known to an unsaved object."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from helpline.models import Queue, Ticket


def test_an_unsaved_object_carries_the_database_defaults():
    assert Queue().junk is False
    assert Queue().retention_action == "delete"
    assert Ticket().legal_hold is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("migration", ["0028", "0029"])
def test_the_migrations_rewrite_no_table_and_lock_no_table_for_an_index(migration):
    out = StringIO()
    call_command("sqlmigrate", "helpline", migration, stdout=out)
    sql = out.getvalue()
    assert "new__helpline_ticket" not in sql  # SQLite's table rebuild
    assert "new__helpline_queue" not in sql
    if connection.vendor == "postgresql":
        existing = ('"helpline_ticket"', '"helpline_outbox"', '"helpline_article"')
        creates = [
            line
            for line in sql.splitlines()
            if line.startswith("CREATE INDEX") and any(t in line for t in existing)
        ]
        assert all("CONCURRENTLY" in line for line in creates), creates
        assert len(creates) == (3 if migration == "0029" else 0)
