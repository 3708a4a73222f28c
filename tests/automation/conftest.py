from __future__ import annotations

import pytest

from tests.search import search_index


@pytest.fixture(autouse=True)
def _index(db):
    """Jobs search: an empty index that follows every committed change."""
    yield from search_index()
