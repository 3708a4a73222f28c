"""Fixtures of the backup tests: the instance under test, empty ones, mail arriving."""

from __future__ import annotations

import pytest

from tests.backup.instances import EmptyInstances, FileStore, Instance
from tests.support import database_url, make_group, make_queue

INFO = "info-en@helpline.localhost"


@pytest.fixture
def source(db, tmp_path, settings) -> Instance:
    """The test database as a running instance's, with a queue that takes mail."""
    make_queue("info-en", group=make_group("mail"), email=INFO)
    return Instance(database_url(), tmp_path / "data", FileStore(settings.MEDIA_ROOT))


@pytest.fixture
def empty_instances(tmp_path, source):
    made = EmptyInstances(tmp_path, source.database_url)
    yield made
    made.drop()
