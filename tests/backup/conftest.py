"""Fixtures of the backup tests: the instance under test, empty ones, their stores."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable

import pytest

from tests.backup.instances import (
    EmptyInstances,
    FileStore,
    Instance,
    ObjectStore,
    Store,
)
from tests.support import database_url, make_group, make_queue

INFO = "info-en@helpline.localhost"

# Where blobs live: a directory, and a prefix of its own in a SeaweedFS bucket (the
# real S3 server of tests/seaweed.py) in every tree that has that module and the
# S3 blob store (the backup branch was written before they were merged).
STORE_KINDS = ["filesystem"]
if importlib.util.find_spec("tests.seaweed") is not None:
    STORE_KINDS.append("object-store")


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory):
    from tests.seaweed import SeaweedServer  # type: ignore[import-not-found]

    with SeaweedServer(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture(params=STORE_KINDS)
def make_store(request, tmp_path) -> Callable[[str], Store]:
    """A new, empty store per name, of the kind under test."""
    if request.param == "filesystem":
        return lambda name: FileStore(tmp_path / name)
    if request.param == "object-store":
        server = request.getfixturevalue("seaweed")
        test = f"{request.node.name}-{uuid.uuid4().hex[:6]}"
        return lambda name: ObjectStore(server, f"{test}/{name}/")
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
