"""Fixtures: the real-Znuny databases (tests/znuny/sources.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.znuny import mariadb, sources


@pytest.fixture(scope="session")
def znuny_db() -> sources.ZnunySource:
    """Articles stored in the database (Znuny's default)."""
    sources.prepare("db", "fs")  # a cold cache builds both side by side
    return sources.pristine("db")


@pytest.fixture(scope="session")
def znuny_fs() -> sources.ZnunySource:
    """Articles stored in the file system (ArticleStorageFS)."""
    sources.prepare("db", "fs")
    return sources.pristine("fs")


@pytest.fixture
def znuny_copy() -> Iterator[sources.ZnunySource]:
    """A writable copy of the db-storage database with its own Znuny home (dropped
    afterwards): change it with ``sources.console()`` / ``sources.perl()``."""
    src = sources.copy("db")
    try:
        yield src
    finally:
        sources.drop(src)


@pytest.fixture(scope="session")
def znuny_mariadb(znuny_db) -> Iterator[str]:
    """A private MariaDB with Znuny's MySQL schema and the rows of ``znuny_db``: a
    ``mysql://`` URL (tests/znuny/mariadb.py)."""
    with mariadb.znuny_server(znuny_db) as url:
        yield url


@pytest.fixture(scope="session", params=["postgresql", "mysql"])
def znuny_sql(request, znuny_db) -> str:
    """The same Znuny rows on PostgreSQL, then on MariaDB: a source URL."""
    if request.param == "mysql":
        return str(request.getfixturevalue("znuny_mariadb"))
    return znuny_db.url
