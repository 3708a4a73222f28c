"""Fixtures: the real-Znuny databases (tests/znuny/sources.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.znuny import sources


@pytest.fixture(scope="session")
def znuny_db() -> sources.ZnunySource:
    """Articles stored in the database (Znuny's default)."""
    return sources.pristine("db")


@pytest.fixture(scope="session")
def znuny_fs() -> sources.ZnunySource:
    """Articles stored in the file system (ArticleStorageFS)."""
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
