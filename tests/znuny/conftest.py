"""Fixtures: the real-Znuny databases (tests/znuny/sources.py)."""

from __future__ import annotations

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
