"""``helpline migrate`` on PostgreSQL waits at most HELPLINE_MIGRATE_LOCK_TIMEOUT for
a lock, and says who holds it (docs/upgrading.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from tests.upgrades import scratch_name
from tests.upgrades.releases import ROOT

HELPLINE = [sys.executable, "-m", "helpline.cli"]


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "lock_timeout is PostgreSQL's (SQLite writers wait for the busy timeout)"
        )


def _url(name: str) -> str:
    s = connection.settings_dict
    return (
        f"postgresql://{s.get('USER') or 'postgres'}@{s.get('HOST') or '127.0.0.1'}"
        f":{s.get('PORT') or 5432}/{name}"
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Iterator[str]:
    """A database migrated up to 0019, copied for each test: its next migration
    (0020) alters the ticket table's indexes."""
    if connection.vendor != "postgresql":
        yield ""
        return
    name = scratch_name("locks_template")
    _recreate(name)
    done = _migrate(_url(name), tmp_path_factory.mktemp("data"), "helpline", "0019")
    assert done.returncode == 0, done.stderr
    yield name
    _drop(name)


@pytest.fixture
def scratch(postgres, template) -> Iterator[str]:
    name = scratch_name("locks")
    _recreate(name, template=template)
    yield _url(name)
    _drop(name)


def _recreate(name: str, *, template: str = "template1") -> None:
    with psycopg.connect(_url("postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _drop(name: str) -> None:
    with psycopg.connect(_url("postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str, data_dir, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")},
        "HELPLINE_DATABASE_URL": url.replace("postgresql://", "postgres://"),
        "HELPLINE_DATA_DIR": str(data_dir),
        **env,
    }
    return subprocess.run(
        [*HELPLINE, "migrate", "-v1", *args],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _applied(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT name FROM django_migrations WHERE app = 'helpline'"
        ).fetchall()
    return {name for (name,) in rows}


def test_a_migration_blocked_by_an_open_transaction_stops_after_the_lock_timeout_and_names_the_holder(
    scratch, tmp_path
):
    # An agent's request that read tickets and has not ended its transaction.
    holder = psycopg.connect(scratch)
    holder.execute("SELECT count(*) FROM helpline_ticket").fetchone()
    holder_pid = holder.info.backend_pid

    started = time.monotonic()
    blocked = _migrate(scratch, tmp_path)
    elapsed = time.monotonic() - started

    assert blocked.returncode == 1, blocked.stderr
    assert elapsed < 15, elapsed  # 1 s of waiting, plus Django's start-up
    assert "Traceback" not in blocked.stderr
    error = blocked.stderr.strip()
    assert error.startswith(
        "error: migration helpline.0020_gin_pending_lists was not applied: "
        "another transaction holds a lock on helpline_ticket"
    ), error
    assert f"pid {holder_pid}, idle in transaction" in error
    assert "waited 1s (HELPLINE_MIGRATE_LOCK_TIMEOUT)" in error
    assert "Retry" in error
    assert "0020_gin_pending_lists" not in _applied(scratch)
    # The agent's transaction went on undisturbed.
    assert holder.execute("SELECT count(*) FROM helpline_queue").fetchone() is not None
    holder.commit()
    holder.close()

    retried = _migrate(scratch, tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert "0020_gin_pending_lists" in _applied(scratch)


def test_with_a_lock_timeout_of_0_the_migration_waits_for_the_holder(scratch, tmp_path):
    holder = psycopg.connect(scratch)
    holder.execute("SELECT count(*) FROM helpline_ticket").fetchone()
    migrating = subprocess.Popen(
        [*HELPLINE, "migrate", "-v0"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")},
            "HELPLINE_DATABASE_URL": scratch.replace("postgresql://", "postgres://"),
            "HELPLINE_DATA_DIR": str(tmp_path),
            "HELPLINE_MIGRATE_LOCK_TIMEOUT": "0",
        },
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)  # far past 1 s: still waiting
    assert migrating.poll() is None
    holder.commit()
    holder.close()
    assert migrating.wait(timeout=60) == 0, migrating.stderr.read()
    assert "0020_gin_pending_lists" in _applied(scratch)


def test_a_lock_timeout_that_is_no_duration_is_refused_clearly(scratch, tmp_path):
    done = _migrate(scratch, tmp_path, HELPLINE_MIGRATE_LOCK_TIMEOUT="soon")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "error: HELPLINE_MIGRATE_LOCK_TIMEOUT='soon' is not a PostgreSQL duration "
        "(e.g. 1s, 500ms; 0 waits as long as it takes)"
    )


@pytest.mark.django_db
def test_migrate_in_process_leaves_the_connection_s_lock_timeout_as_it_was(postgres):
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '7s'")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "7s"
