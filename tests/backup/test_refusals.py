"""What ``helpline backup`` and ``helpline restore`` refuse, and what --verify finds:
a non-empty target, a damaged backup, a backup of a newer version, two backups at
once; and what --keep leaves behind."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from tests.backup.instances import Instance
from tests.backup.mail_flow import message

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def deliver(instance: Instance, *numbers: int) -> None:
    """Messages through ``helpline postmaster``, as an MTA's pipe delivers them."""
    for n in numbers:
        done = instance.run_input("postmaster", data=message(n))
        assert done.returncode == 0, done.stderr


@pytest.fixture
def backed_up(source, tmp_path) -> tuple[Instance, Path]:
    """The source with two messages, and a backup directory with one set of it."""
    deliver(source, 1, 2)
    dest = tmp_path / "backups"
    source.run_json("backup", str(dest))
    return source, dest


def only_set(dest: Path) -> Path:
    (found,) = [p for p in dest.iterdir() if (p / "manifest.json").exists()]
    return found


def assert_refused(done, *phrases: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


def storage_is_empty(instance: Instance) -> bool:
    try:
        return instance.store.storage().listdir("") == ([], [])
    except FileNotFoundError:
        return True


def table_count(instance: Instance) -> int:
    return len(instance.rows())


def test_a_restore_into_a_non_empty_database_is_refused_and_changes_nothing(
    backed_up, empty_instances
):
    _source, dest = backed_up
    target = empty_instances.make()
    target.run_json("restore", str(dest))
    tickets = len(target.rows()["helpline_ticket"])
    assert tickets == 1 + 2  # the header row and two tickets

    again = target.run("restore", str(dest))
    assert_refused(again, "error: the database is not empty", "needs an empty database")
    assert len(target.rows()["helpline_ticket"]) == tickets


def test_a_restore_into_a_migrated_but_unused_database_is_refused(
    backed_up, empty_instances
):
    _source, dest = backed_up
    target = empty_instances.make()
    assert target.run("migrate", "-v0").returncode == 0
    assert_refused(target.run("restore", str(dest)), "the database is not empty")


def test_a_restore_into_an_empty_database_with_blobs_in_the_storage_is_refused(
    backed_up, empty_instances
):
    _source, dest = backed_up
    target = empty_instances.make()
    target.store.storage().save("blobs/00/00/leftover", _file(b"old"))
    done = target.run("restore", str(dest))
    assert_refused(done, "attachment storage", "is not empty", "needs an empty one")
    assert table_count(target) == 0  # nothing was restored


def _file(data: bytes):
    from django.core.files.base import ContentFile

    return ContentFile(data)


def flip_a_byte(path: Path, at: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_verify_finds_a_damaged_blob_and_a_damaged_database_file(backed_up):
    source, dest = backed_up
    good = source.run_json("restore", "--verify", str(dest))
    assert good["blobs_checked"] >= 2 and not good["restored"]

    backup_set = only_set(dest)
    manifest = json.loads((backup_set / "manifest.json").read_text())
    sha, _size = manifest["blobs"]["stored"][0]
    flip_a_byte(dest / "blobs" / sha[:2] / sha[2:4] / sha)
    flip_a_byte(backup_set / manifest["database"]["file"], at=5000)
    done = source.run("restore", "--verify", str(dest))
    assert_refused(done, "does not match its manifest: 2 problem(s)", f"blob {sha} is damaged",
                   f"the database file {backup_set / manifest['database']['file']} is damaged")  # fmt: skip


def test_a_damaged_backup_is_not_restored_at_all(backed_up, empty_instances):
    _source, dest = backed_up
    manifest = json.loads((only_set(dest) / "manifest.json").read_text())
    sha, _size = manifest["blobs"]["stored"][-1]
    (dest / "blobs" / sha[:2] / sha[2:4] / sha).unlink()
    target = empty_instances.make()
    done = target.run("restore", str(dest))
    assert_refused(done, f"blob {sha} is missing")
    assert table_count(target) == 0
    assert storage_is_empty(target)


def test_a_backup_of_a_newer_version_is_refused(backed_up, empty_instances):
    _source, dest = backed_up
    manifest_path = only_set(dest) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["migrations"].append(["helpline", "9999_from_the_future"])
    manifest["helpline_version"] = "9.0"
    manifest_path.write_text(json.dumps(manifest))
    target = empty_instances.make()
    done = target.run("restore", str(dest))
    assert_refused(done, "made by a newer Helpline", "helpline.9999_from_the_future",
                   "(9.0)")  # fmt: skip
    assert table_count(target) == 0


def test_a_second_backup_into_the_same_directory_at_once_is_refused(backed_up):
    source, dest = backed_up
    with open(dest / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running backup holds it
        done = source.run("backup", str(dest))
    assert_refused(done, "is in use by another backup or restore")
    assert source.run("backup", str(dest)).returncode == 0  # once it is free


def test_keep_deletes_the_oldest_sets_and_the_blobs_no_set_names(backed_up):
    source, dest = backed_up
    stray = dest / "blobs" / "ab" / "cd" / ("abcd" + "0" * 60)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"a blob of an instance backed up here before")
    oldest = only_set(dest).name
    deliver(source, 3)
    source.run_json("backup", str(dest))
    third = source.run_json("backup", str(dest), "--keep", "2")
    assert third["pruned_sets"] == [oldest] and third["pruned_blobs"] == 1
    assert third["blobs_copied"] == 0  # nothing new since the second
    assert not stray.exists() and not (dest / oldest).exists()
    sets = sorted(p.name for p in dest.iterdir() if (p / "manifest.json").exists())
    assert len(sets) == 2 and sets[-1] == third["set"]
    assert source.run_json("restore", "--verify", str(dest / sets[0]))["blobs_checked"]


def test_a_verify_of_a_directory_without_a_backup_says_so(tmp_path, source):
    (tmp_path / "nothing").mkdir()
    done = source.run("restore", "--verify", str(tmp_path / "nothing"))
    assert_refused(done, "holds no complete backup set")
    done = source.run("restore", "--verify", str(tmp_path / "missing"))
    assert_refused(done, "no such backup directory")


def test_the_manifest_names_every_table_count_and_stored_blob(backed_up):
    _source, dest = backed_up
    manifest = json.loads((only_set(dest) / "manifest.json").read_text())
    assert manifest["tables"]["helpline_ticket"] == 2
    assert manifest["tables"]["helpline_inbound_message"] == 2
    # Two raw messages and two attachments, each over the inline limit.
    assert len(manifest["blobs"]["stored"]) == 4
    assert ["helpline", "0001_initial"] in manifest["migrations"]


def test_a_blob_missing_from_the_storage_fails_the_backup_and_leaves_no_set(backed_up):
    source, dest = backed_up
    before = sorted(p.name for p in dest.iterdir())
    deliver(source, 3)  # its blobs are new: not in the backup directory yet
    manifest = json.loads((only_set(dest) / "manifest.json").read_text())
    known = {sha for sha, _size in manifest["blobs"]["stored"]}
    storage = source.store.storage()
    (new_blob,) = [
        name for name in _stored_names(storage) if name.rsplit("/", 1)[1] not in known
    ][:1]
    storage.delete(new_blob)
    done = source.run("backup", str(dest))
    assert_refused(done, "is in the database but not in the storage")
    assert sorted(p.name for p in dest.iterdir()) == before  # no new or partial set


def _stored_names(storage) -> list[str]:
    names = []
    for top in storage.listdir("blobs")[0]:
        for sub in storage.listdir(f"blobs/{top}")[0]:
            names += [
                f"blobs/{top}/{sub}/{f}"
                for f in storage.listdir(f"blobs/{top}/{sub}")[1]
            ]
    return sorted(names)
