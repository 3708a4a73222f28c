"""Where removed words and bytes could still be: the tests of retention, redaction and
erasure ask every place Helpline keeps data, the way an investigator would.

- the database as a dump shows it (``pg_dump`` of the test database; SQLite's
  ``iterdump``), with every binary value (``bytea``, BLOB) decoded and searched too;
- every file under the blob store (``MEDIA_ROOT``);
- the full-text index, through a search by an agent who may read every queue.

A needle is searched case-insensitively as text and as its UTF-8 bytes.  On
PostgreSQL the dump is of committed data: call it from a test with
``django_db(transaction=True)``.
"""

from __future__ import annotations

import binascii
import os
import re
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connection

_PG_HEX = re.compile(rb"\\\\x([0-9a-f]+)")
_SQLITE_HEX = re.compile(rb"X'([0-9A-Fa-f]+)'")


def _pg_dump() -> bytes:
    conf = connection.settings_dict
    env = dict(os.environ)
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = str(conf["PASSWORD"])
    command = ["pg_dump", "--data-only", "--no-owner", "--dbname", conf["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if conf.get(key):
            command += [flag, str(conf[key])]
    return subprocess.run(command, env=env, check=True, capture_output=True).stdout


def _sqlite_dump() -> bytes:
    connection.ensure_connection()
    raw = connection.connection
    return "\n".join(raw.iterdump()).encode("utf-8", "surrogatepass")


def database_dump() -> bytes:
    """The database as text, binary values decoded and appended."""
    dump = _pg_dump() if connection.vendor == "postgresql" else _sqlite_dump()
    pattern = _PG_HEX if connection.vendor == "postgresql" else _SQLITE_HEX
    decoded = [binascii.unhexlify(m.group(1)) for m in pattern.finditer(dump)]
    return b"\n".join([dump, *decoded])


def blob_files() -> dict[str, bytes]:
    """Every file of the blob store (the file store under MEDIA_ROOT)."""
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }


def _variants(needle: str | bytes) -> list[bytes]:
    if isinstance(needle, bytes):
        return [needle.lower()]
    return [needle.lower().encode()]


def find(needles: list[str | bytes], *, searcher: object | None = None) -> list[str]:
    """Where any of ``needles`` is found: "database", "blob <name>", "search <word>".

    ``searcher``: an agent that may read every queue, to ask the full-text index.
    """
    found: list[str] = []
    dump = database_dump().lower()
    files = {name: data.lower() for name, data in blob_files().items()}
    for needle in needles:
        for variant in _variants(needle):
            if variant in dump:
                found.append(f"database: {needle!r}")
            found.extend(
                f"blob {name}: {needle!r}"
                for name, data in files.items()
                if variant in data
            )
        if searcher is not None and isinstance(needle, str) and needle.isalnum():
            from helpline.search import search_tickets

            if search_tickets(searcher, needle, archived=None).total:
                found.append(f"search: {needle!r}")
    return found
