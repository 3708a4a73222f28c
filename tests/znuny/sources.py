"""Databases written by the real Znuny 7.0.19 (../shared/znuny/make-znuny-db.sh).

FIRST VERSION (to be replaced by the cached set-up): uses the databases
``znuny_test`` (articles in the database) and ``znuny_fs`` (in the file system) that
make-znuny-db.sh made on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PG = "127.0.0.1:5432"


@dataclass
class ZnunySource:
    dbname: str
    storage: str  # db | fs
    article_dir: Path | None = None
    home: Path | None = None  # a Znuny home configured for this database

    @property
    def url(self) -> str:
        return f"postgresql://znuny@{PG}/{self.dbname}"


def pristine(storage: str = "db") -> ZnunySource:
    """The Znuny-written database, never to be changed by a test."""
    if storage == "db":
        return ZnunySource("znuny_test", "db", None, Path("/tmp/znuny-znuny_test"))
    return ZnunySource(
        "znuny_fs",
        "fs",
        Path("/tmp/znuny-znuny_fs/var/article"),
        Path("/tmp/znuny-znuny_fs"),
    )
