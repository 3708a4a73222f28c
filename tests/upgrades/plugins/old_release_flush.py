"""A pytest plugin for the previous release's own test run (test_previous_release.py).

Its tests that commit (``transaction=True``) end with Django's flush, which on
PostgreSQL is one ``TRUNCATE`` of the tables *that release* knows.  PostgreSQL refuses
to truncate a table that a table outside the list references, so a table added since
with a foreign key to an old one (the two-factor devices to ``auth_user``, the
two-factor policies to groups and roles: docs/authentication.md) would fail every
such teardown, although the old code never truncates anything in production.  Here
the flush truncates with ``CASCADE``, emptying the new tables too; nothing else of the
old release's run changes.  (SQLite's flush deletes rows, which the empty new tables
never block.)
"""

from __future__ import annotations

from typing import Any


def pytest_sessionstart(session: Any) -> None:
    # Imported once Django is set up (pytest-django does it before the session).
    from django.db.backends.postgresql.operations import DatabaseOperations

    sql_flush = DatabaseOperations.sql_flush

    def sql_flush_cascade(
        self: Any, style: Any, tables: Any, *, reset_sequences: bool = False, **_: Any
    ) -> Any:
        return sql_flush(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=True
        )

    DatabaseOperations.sql_flush = sql_flush_cascade  # type: ignore[method-assign]
