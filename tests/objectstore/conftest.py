"""A SeaweedFS for the object-store tests, and the organisation mail goes to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from helpline.models import Queue
from tests.seaweed import SeaweedServer, seaweed_settings
from tests.support import make_agent, make_group, make_queue

# Small, so that a few hundred bytes already make an object in the store.
INLINE = 64


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory) -> Iterator[SeaweedServer]:
    """One SeaweedFS for the session's object-store tests (each test has its own key
    prefix in the bucket)."""
    with SeaweedServer(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@dataclass
class S3:
    server: SeaweedServer
    prefix: str

    def objects(self) -> dict[str, bytes]:
        """This test's objects, by their blob name (``blobs/ab/cd/<sha256>``)."""
        return {
            key[len(self.prefix) :]: data
            for key, data in self.server.keys(self.prefix).items()
        }

    def put(self, name: str, data: bytes) -> None:
        self.server.client().put_object(
            Bucket=self.server.bucket, Key=self.prefix + name, Body=data
        )

    def delete(self, name: str) -> None:
        self.server.client().delete_object(
            Bucket=self.server.bucket, Key=self.prefix + name
        )

    def env(self) -> dict[str, str]:
        return {
            **self.server.env(self.prefix),
            "HELPLINE_INLINE_BLOB_BYTES": str(INLINE),
        }


@pytest.fixture
def s3(seaweed, settings) -> S3:
    """HELPLINE_BLOB_STORE=s3 on the session's SeaweedFS, under a prefix of this
    test's own; blobs over INLINE bytes go there."""
    prefix = f"t-{uuid.uuid4().hex[:10]}/"
    seaweed_settings(settings, seaweed, prefix=prefix)
    settings.HELPLINE_INLINE_BLOB_BYTES = INLINE
    return S3(seaweed, prefix)


@dataclass
class Org:
    info: Queue  # info-en@helpline.localhost
    agent: object  # may do everything in info-en


@pytest.fixture
def org(db) -> Org:
    group = make_group("mail")
    info = make_queue("info-en", group=group, email="info-en@helpline.localhost")
    make_queue("Raw", group=group)
    agent = make_agent("alice")
    from helpline.actions import admin
    from helpline.models import Permission

    admin.grant(group, [Permission.RW], agent=agent)
    return Org(info=info, agent=agent)
