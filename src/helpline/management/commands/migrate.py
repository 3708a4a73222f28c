"""``helpline migrate``: Django's migrate that never queues the site behind a lock.

On PostgreSQL a statement that waits for a lock also makes every later statement on
that table wait behind it: an ``ALTER TABLE`` waiting for one agent's open
transaction stops every request that touches the table, for as long as that
transaction lasts.  Here each statement waits at most HELPLINE_MIGRATE_LOCK_TIMEOUT
(1 s) for a lock; when another transaction holds it longer, the migration being
applied is rolled back and the command stops with a message naming the table and
the session that holds it (docs/upgrading.md).  Migrating again later is safe:
the migrations applied before it stay applied.  SQLite: Django's migrate as it is
(its writers wait up to the busy timeout).
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DatabaseError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock timeout
# The relation a DDL or DML statement works on, most telling first: CREATE INDEX ...
# ON x; ALTER TABLE x, LOCK TABLE x, UPDATE x, INSERT INTO x, DELETE FROM x; ALTER
# INDEX x (then its table is named).
_NAME = r'\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?"?(\w+)"?'
RELATION = [
    re.compile(rf"\bON{_NAME}", re.IGNORECASE),
    re.compile(rf"\b(?:TABLE|UPDATE|INTO|FROM){_NAME}", re.IGNORECASE),
    re.compile(rf"\bINDEX{_NAME}", re.IGNORECASE),
]


class Command(migrate.Command):
    help = (
        migrate.Command.help
        + " On PostgreSQL each statement waits at most HELPLINE_MIGRATE_LOCK_TIMEOUT "
        "(1s) for a lock, and the command stops with the name of the table and of the "
        "session holding it rather than make the site wait behind it."
    )

    current: str = ""
    statement: str = ""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except CommandError as error:
            if not getattr(self, "_called_from_command_line", False) or options.get(
                "traceback"
            ):
                raise
            self.stderr.write(f"error: {error}")
            sys.exit(error.returncode)

    def migration_progress_callback(
        self, action: str, migration: Any = None, fake: bool = False
    ) -> None:
        if action in {"apply_start", "unapply_start"}:
            self.current = f"{migration.app_label}.{migration.name}"
        super().migration_progress_callback(action, migration, fake)

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        timeout = settings.HELPLINE_MIGRATE_LOCK_TIMEOUT.strip()
        if connection.vendor != "postgresql" or timeout in {"", "0"}:
            super().handle(*args, **options)
            return
        previous = _set_lock_timeout(connection, timeout)
        try:
            with connection.execute_wrapper(self._remember):
                super().handle(*args, **options)
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            raise CommandError(self._lock_message(connection, timeout)) from exc
        finally:
            # The connection may serve more (a test run's database set-up); a
            # failure here must not hide the migration's own error.
            if connection.connection is not None:
                with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, false)", [previous]
                    )

    def _remember(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        self.statement = sql
        return execute(sql, params, many, context)

    def _lock_message(self, connection: BaseDatabaseWrapper, timeout: str) -> str:
        matches = (pattern.search(self.statement) for pattern in RELATION)
        relation = next((m.group(1) for m in matches if m), None)
        table, holders = _holders(connection, relation)
        what = f"a lock on {table}" if table else "a lock this migration needs"
        return (
            f"migration {self.current or '(unknown)'} was not applied: another "
            f"transaction holds {what}"
            + (f" ({holders})" if holders else "")
            + f"; waited {timeout} (HELPLINE_MIGRATE_LOCK_TIMEOUT). The migrations "
            "before it are applied. Retry when that transaction has ended; "
            "docs/upgrading.md says how to find and end it."
        )


def _set_lock_timeout(connection: BaseDatabaseWrapper, timeout: str) -> str:
    """Set the session's lock_timeout; the value it had."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout')")
            previous = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [timeout])
    except DatabaseError as exc:
        if connection.connection is not None and not connection.in_atomic_block:
            connection.rollback()
        raise CommandError(
            f"HELPLINE_MIGRATE_LOCK_TIMEOUT={timeout!r} is not a PostgreSQL duration "
            "(e.g. 1s, 500ms; 0 waits as long as it takes)"
        ) from exc
    return str(previous)


# The table of a relation (an index's table; a table itself).
TABLE_OF = (
    "SELECT COALESCE((SELECT indrelid FROM pg_index WHERE indexrelid = "
    "to_regclass(%s)), to_regclass(%s))::regclass::text"
)
# Sessions of this database in a transaction holding a lock on that table (on any
# table when it is not known), the oldest transaction first.
HOLDERS = (
    "SELECT DISTINCT a.pid, a.state, extract(epoch FROM now() - a.xact_start)::int, "
    "left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80) "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.granted AND l.locktype = 'relation' AND a.pid <> pg_backend_pid() "
    "AND a.datname = current_database() AND a.xact_start IS NOT NULL "
    "AND (%s::text IS NULL OR l.relation = to_regclass(%s)) "
    "ORDER BY 3 DESC LIMIT 3"
)


def _holders(
    connection: BaseDatabaseWrapper, relation: str | None
) -> tuple[str | None, str]:
    """The table ``relation`` is or belongs to, and the sessions holding a lock on it
    (on any table if it is not known), as one line."""
    try:
        with connection.cursor() as cursor:
            table = None
            if relation:
                cursor.execute(TABLE_OF, [relation, relation])
                table = cursor.fetchone()[0] or relation
            cursor.execute(HOLDERS, [table, table])
            rows = cursor.fetchall()
    except DatabaseError:
        return relation, ""
    return table, "; ".join(
        f"pid {pid}, {state}"
        + (f" for {age} s" if age is not None else "")
        + f", last statement: {query}"
        for pid, state, age, query in rows
    )
