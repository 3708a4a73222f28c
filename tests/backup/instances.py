"""Helpline instances for the backup tests: a database, a data directory, a store.

The instance under test is the test database itself (``source``); restores go into
new, empty ones (``EmptyInstances``: a new SQLite file, or a new PostgreSQL database
beside the test database, dropped afterwards).  Commands run as ``helpline``
processes with the instance's environment, as an operator runs them.

Stores: ``FileStore`` is the file-system storage.  An object store plugs in as another
class with the same two methods (``env`` for the processes, ``storage`` for reading
blobs from the test), e.g. on the SeaweedFS fixture of tests/seaweed.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.core.files.storage import FileSystemStorage, Storage

HELPLINE = str(Path(sys.executable).parent / "helpline")
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Blobs over 1 KiB go to the storage, so every test message puts some there.
INLINE_BLOB_BYTES = "1024"


class Store(Protocol):
    def env(self) -> dict[str, str]: ...

    def storage(self) -> Storage: ...


@dataclass
class FileStore:
    root: Path

    def env(self) -> dict[str, str]:
        return {"HELPLINE_ATTACHMENT_DIR": str(self.root)}

    def storage(self) -> Storage:
        return FileSystemStorage(location=self.root)


@dataclass
class ObjectStore:
    """A prefix of its own in an S3 bucket (``server``: tests/seaweed.py's
    SeaweedServer, with ``env(prefix)``)."""

    server: Any
    prefix: str

    def env(self) -> dict[str, str]:
        return dict(self.server.env(self.prefix))

    def storage(self) -> Storage:
        from storages.backends.s3 import S3Storage

        env = self.env()
        return S3Storage(
            bucket_name=env["HELPLINE_S3_BUCKET"],
            endpoint_url=env["HELPLINE_S3_ENDPOINT_URL"],
            region_name=env["HELPLINE_S3_REGION"],
            access_key=env["HELPLINE_S3_ACCESS_KEY_ID"],
            secret_key=env["HELPLINE_S3_SECRET_ACCESS_KEY"],
            location=self.prefix.strip("/"),
            addressing_style="path",
            file_overwrite=True,
            default_acl=None,
        )


@dataclass
class Instance:
    database_url: str
    data_dir: Path
    store: Store
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HELPLINE_DATABASE_URL": self.database_url,
            "HELPLINE_DATA_DIR": str(self.data_dir),
            "HELPLINE_LOG_LEVEL": "WARNING",
            "HELPLINE_JOBS_IMMEDIATE": "1",
            "HELPLINE_INLINE_BLOB_BYTES": INLINE_BLOB_BYTES,
            **self.store.env(),
            **self.extra_env,
        }

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HELPLINE, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def run_input(self, *args: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [HELPLINE, *args],
            env=self.env(),
            input=data,
            capture_output=True,
            timeout=120,
            check=False,
        )

    def run_json(self, *args: str) -> dict[str, Any]:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [HELPLINE, *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def connect(self) -> Any:
        """A plain DB-API connection (not Django's) to the instance's database."""
        if self.database_url.startswith("sqlite:///"):
            return sqlite3.connect(self.database_url.removeprefix("sqlite:///"))
        import psycopg

        url = self.database_url.replace("postgres://", "postgresql://", 1)
        return psycopg.connect(url, autocommit=True)

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows (column names first), sorted: the instance's objects."""
        conn = self.connect()
        try:
            return all_rows(conn)
        finally:
            conn.close()


def all_rows(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    cursor = conn.cursor()
    if isinstance(conn, sqlite3.Connection):
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
        )
    else:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    tables = sorted(name for (name,) in cursor.fetchall())
    result = {}
    for table in tables:
        cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (catalogue names)
        columns = tuple(d[0] for d in cursor.description)
        rows = sorted((tuple(row) for row in cursor.fetchall()), key=repr)
        result[table] = [columns, *rows]
    return result


class EmptyInstances:
    """New empty instances of the test database's kind, removed afterwards."""

    def __init__(
        self, tmp_path: Path, source_url: str, make_store: Callable[[str], Store]
    ) -> None:
        self.tmp_path = tmp_path
        self.source_url = source_url
        self.make_store = make_store
        self.databases: list[str] = []

    def make(self) -> Instance:
        n = len(self.databases) + 1
        data_dir = self.tmp_path / f"restored{n}"
        if self.source_url.startswith("sqlite:"):
            url = f"sqlite:///{data_dir / 'helpline.sqlite3'}"
            self.databases.append(url)
        else:
            name = self.source_url.rsplit("/", 1)[1] + f"_restored{n}"
            self._admin(
                f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'
            )
            self.databases.append(name)
            url = self.source_url.rsplit("/", 1)[0] + f"/{name}"
        return Instance(url, data_dir, self.make_store(f"restored{n}-blobs"))

    def drop(self) -> None:
        for name in self.databases:
            if not name.startswith("sqlite:"):
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _admin(*statements: str) -> None:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]
