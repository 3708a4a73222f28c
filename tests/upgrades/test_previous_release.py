"""Rolling upgrade: the previous release keeps working on a database that this code
has migrated (docs/upgrading.md).  Its own smoke tests run, with its own code,
against a fresh database brought to this code's schema, on the backend of this test
run (SQLite, or PostgreSQL in CI's second leg)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.upgrades import scratch_name
from tests.upgrades.releases import PREVIOUS, ROOT, SMOKE_TESTS, release_tree

PROBE = "CREATE TABLE upgrade_probe (migrated_by text)"


def _pg_url(name: str) -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    return f"postgresql://{user}@{host}:{s.get('PORT') or 5432}/{name}"


class Database:
    """A database for the old release's test run: ``url`` is what its settings get
    (pytest-django then uses ``test_url``'s database, which this code migrates)."""

    def __init__(self, url: str, test_url: str) -> None:
        self.url, self.test_url = url, test_url

    def execute(self, sql: str) -> list[tuple[object, ...]]:
        if self.test_url.startswith("sqlite"):
            with sqlite3.connect(self.test_url.removeprefix("sqlite:///")) as db:
                return db.execute(sql).fetchall()
        with psycopg.connect(self.test_url, autocommit=True) as db:
            cursor = db.execute(sql)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    if connection.vendor == "sqlite":
        # The old settings name the test database DATA_DIR/test.sqlite3.
        yield Database(
            f"sqlite:///{tmp_path / 'helpline.sqlite3'}",
            f"sqlite:///{tmp_path / 'test.sqlite3'}",
        )
        return
    name = scratch_name("previous")
    admin = _pg_url("postgres")
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "test_{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "test_{name}"')
    yield Database(_pg_url(name), _pg_url(f"test_{name}"))
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "test_{name}" WITH (FORCE)')


def _environment(tmp_path: Path, database_url: str, src: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # Not this run's worker id, options or database.
        if not k.startswith(("PYTEST_", "HELPLINE_"))
    }
    env.update(
        PYTHONPATH=str(src),
        HELPLINE_DATA_DIR=str(tmp_path),
        HELPLINE_DATABASE_URL=database_url.replace("postgresql://", "postgres://"),
        HELPLINE_LOG_LEVEL="WARNING",
    )
    return env


def test_the_previous_release_passes_its_smoke_tests_on_a_database_migrated_by_this_code(
    tmp_path, database
):
    old = release_tree(PREVIOUS)
    # This code migrates a fresh database, and marks it.
    migrated = subprocess.run(
        [sys.executable, "-m", "helpline.cli", "migrate", "-v0"],
        env=_environment(tmp_path, database.test_url, ROOT / "src"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    database.execute(PROBE)
    database.execute("INSERT INTO upgrade_probe VALUES ('head')")

    env = _environment(tmp_path, database.url, old / "src")
    # Its teardown flush truncates with CASCADE (plugins/old_release_flush.py says why).
    env["PYTHONPATH"] += os.pathsep + str(Path(__file__).parent / "plugins")
    imported = subprocess.run(
        [sys.executable, "-c", "import helpline; print(helpline.__file__)"],
        env=env,
        cwd=old,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(imported.stdout.strip()).is_relative_to(old), imported.stdout

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--reuse-db"]
        + ["-p", "old_release_flush"]
        + ["-q", *SMOKE_TESTS],
        env=env,
        cwd=old,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, (
        f"{PREVIOUS}'s smoke tests failed:\n{run.stdout[-6000:]}"
    )
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 100, summary
    # They ran on the database this code migrated, not on one they made.
    assert database.execute("SELECT migrated_by FROM upgrade_probe") == [("head",)]
