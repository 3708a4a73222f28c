"""``helpline blobs migrate`` (resumable, verified) and ``helpline blobs verify``
(missing and damaged objects, orphans); the settings' and the checks' word on them."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import time
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpline import blobstore
from helpline.blobstore import read_blob, store_blob
from helpline.checks import announce_host, check_several_hosts, key_fingerprint
from helpline.models import Blob
from tests.objectstore.conftest import INLINE
from tests.transports import HELPLINE, subprocess_env


def blobs(count: int, size: int = 2000) -> list[Blob]:
    return [store_blob(os.urandom(size)) for _ in range(count)]


def run_blobs(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("blobs", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue() + err.getvalue()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrate_killed_half_way_and_run_again_copies_every_blob_once_verified(
    s3, settings, tmp_path
):
    settings.HELPLINE_BLOB_STORE = "file"  # the blobs start on the file system
    stored = blobs(300)
    inline = store_blob(b"small enough for the row")
    env = subprocess_env(
        tmp_path,
        **{**s3.env(), "HELPLINE_BLOB_STORE": "file", "HELPLINE_LOG_LEVEL": "ERROR"},
    )
    argv = [HELPLINE, "blobs", "migrate", "--to", "s3"]
    first = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while len(s3.objects()) < 60 and time.monotonic() < deadline:
            assert first.poll() is None, "migrate finished before it could be killed"
            time.sleep(0.1)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    copied_before = len(s3.objects())
    assert 60 <= copied_before < len(stored)

    again = subprocess.run(  # noqa: S603
        argv, env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == "Copying blobs into the s3 store..."
    assert lines[-3].startswith(f"checked {len(stored)}/{len(stored)} (")
    done = lines[-2]
    assert done.startswith(f"Done: {len(stored)} blobs, ")
    copied = int(done.split(", ")[1].split()[0])
    present = int(done.split(", ")[2].split()[0])
    # What the killed run wrote is kept (one object may have been mid-air).
    assert present >= copied_before - 1
    assert copied + present == len(stored)
    objects = s3.objects()
    assert sorted(objects) == sorted(b.path for b in stored)
    for blob in stored:
        assert hashlib.sha256(objects[blob.path]).hexdigest() == blob.sha256
    assert inline.path not in objects  # row-kept blobs need no object

    # Switched over, everything reads from the bucket; verify agrees.
    settings.HELPLINE_BLOB_STORE = "s3"
    assert read_blob(Blob.objects.get(pk=stored[0].pk)) == objects[stored[0].path]
    code, out = run_blobs("verify")
    assert code == 0, out
    assert out.splitlines()[-1] == (
        f"{len(stored)} objects checked in the s3 store: 0 missing, 0 corrupt, "
        "0 orphans (0 deleted)."
    )


@pytest.mark.django_db
def test_verify_finds_a_corrupted_a_missing_and_an_orphan_object(s3):
    good, damaged, lost = blobs(3)
    s3.put(damaged.path, b"bit rot" + os.urandom(2000))
    s3.delete(lost.path)
    orphan = "blobs/00/00/" + "0" * 64
    s3.put(orphan, b"left behind by a rolled-back transaction")
    code, out = run_blobs("verify")
    assert code == 1
    assert f"corrupt (wrong SHA-256): {damaged.path}" in out
    assert f"missing: {lost.path}" in out
    assert f"orphan: {orphan} (40 bytes, " in out
    assert "3 objects checked in the s3 store: 1 missing, 1 corrupt, 1 orphans" in out
    assert "restore them from a backup" in out
    # A young orphan is kept (its row may not be committed yet); an old one goes.
    run_blobs("verify", "--delete-orphans")
    assert orphan in s3.objects()
    code, out = run_blobs("verify", "--delete-orphans", "--older-than", "0s")
    assert f"orphan deleted: {orphan}" in out
    assert orphan not in s3.objects()
    assert read_blob(good) == s3.objects()[good.path]


@pytest.mark.django_db
def test_verify_checks_the_file_store_too(settings):
    settings.HELPLINE_INLINE_BLOB_BYTES = INLINE
    (blob,) = blobs(1)
    path = blobstore.storage_for("file").path(blob.path)
    with open(path, "r+b") as fh:
        fh.write(b"X")
    code, out = run_blobs("verify", "--store", "file")
    assert code == 1
    assert f"corrupt (wrong SHA-256): {blob.path}" in out


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"HELPLINE_BLOB_STORE": "nfs"}, "HELPLINE_BLOB_STORE='nfs' is not a blob"),
        ({"HELPLINE_BLOB_STORE": "s3"}, "HELPLINE_BLOB_STORE=s3 needs HELPLINE_S3_"),
    ],
)
def test_a_wrong_blob_store_setting_is_one_clear_line_at_start(
    tmp_path, variables, message
):
    env = {**os.environ, "HELPLINE_DATA_DIR": str(tmp_path), **variables}
    env.pop("HELPLINE_S3_BUCKET", None)
    result = subprocess.run(  # noqa: S603
        [HELPLINE, "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(message)


@pytest.fixture
def redis_jobs(settings, redis_url):
    """Jobs in Redis (several hosts): a private redis-server (tests/test_jobs.py)."""
    import redis

    settings.HELPLINE_REDIS_URL = redis_url
    settings.HUEY = {**settings.HUEY, "name": f"objectstore-{uuid.uuid4().hex[:8]}"}
    client = redis.Redis.from_url(settings.HELPLINE_REDIS_URL)
    yield client, f"{settings.HUEY['name']}:secret-key-fingerprints"
    client.delete(f"{settings.HUEY['name']}:secret-key-fingerprints")


def test_deploy_checks_warn_of_file_blobs_and_of_a_secret_key_that_differs(
    redis_jobs, settings
):
    client, key = redis_jobs
    settings.HELPLINE_BLOB_STORE = "file"
    # One host with Redis (its cache and jobs): file blobs are fine.
    assert check_several_hosts() == []
    assert client.hget(key, os.uname().nodename).decode() == key_fingerprint()
    # A second host with the same key announces itself: file blobs are not.
    client.hset(key, "other-host", key_fingerprint())
    (warning,) = check_several_hosts()
    assert warning.id == "helpline.W020"
    assert "other-host" in warning.msg
    settings.HELPLINE_BLOB_STORE = "s3"
    assert check_several_hosts() == []
    client.hset(key, "other-host", "0123456789abcdef")
    (warning,) = check_several_hosts()
    assert warning.id == "helpline.W021"
    assert "other-host" in warning.msg
    client.hdel(key, "other-host")
    assert check_several_hosts() == []
    settings.HELPLINE_REDIS_URL = ""
    settings.HELPLINE_BLOB_STORE = "file"
    assert check_several_hosts() == []  # one host: files are fine


def test_each_host_records_its_key_fingerprint_at_start_and_logs_a_difference(
    redis_jobs, caplog
):
    client, key = redis_jobs
    client.hset(key, "other-host", "0123456789abcdef")
    with caplog.at_level("WARNING", logger="helpline.checks"):
        announce_host()
    assert client.hget(key, os.uname().nodename).decode() == key_fingerprint()
    assert "the secret key differs on other-host" in caplog.text


@pytest.mark.django_db
def test_migrate_without_a_bucket_says_what_to_set(settings):
    settings.HELPLINE_S3_BUCKET = ""
    code, out = run_blobs("migrate", "--to", "s3")
    assert code == 1
    assert "needs HELPLINE_S3_BUCKET" in out
