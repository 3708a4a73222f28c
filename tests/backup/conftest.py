"""Fixtures of the backup tests: the instance under test, empty ones, their stores."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.backup.instances import EmptyInstances, FileStore, Instance, Store
from tests.support import database_url, make_group, make_queue

INFO = "info-en@helpline.localhost"

# Where blobs live.  An object store joins as a second kind once the SeaweedFS
# fixture (tests/seaweed.py) is merged: a Store whose ``env`` points the processes
# at a bucket of its own (one per name) and whose ``storage`` reads that bucket.
STORE_KINDS = ["filesystem"]


@pytest.fixture(params=STORE_KINDS)
def make_store(request, tmp_path) -> Callable[[str], Store]:
    """A new, empty store per name, of the kind under test."""
    if request.param == "filesystem":
        return lambda name: FileStore(tmp_path / name)
    raise AssertionError(f"no store of kind {request.param}")


@pytest.fixture
def source(db, tmp_path, make_store) -> Instance:
    """The test database as a running instance's, with a queue that takes mail."""
    make_queue("info-en", group=make_group("mail"), email=INFO)
    return Instance(database_url(), tmp_path / "data", make_store("source-blobs"))


@pytest.fixture
def empty_instances(tmp_path, source, make_store):
    made = EmptyInstances(tmp_path, source.database_url, make_store)
    yield made
    made.drop()
