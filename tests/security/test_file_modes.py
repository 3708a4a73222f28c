"""Helpline's data files are its own user's only (issue 13, point 8).

The data directory holds the databases (mail about living persons), the job queue,
attachments, the cache and the secret key.  They were created 0755/0644, and the
secret key was written world-readable, then chmod-ed.  Each test here starts
Helpline in a fresh data directory under a umask of 022 (a usual default) and looks
at the modes of what it created.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.checks import Tags, run_checks

from helpline.blobstore import read_blob, store_blob

HELPLINE = [sys.executable, "-m", "helpline.cli"]


def helpline_env(data_dir: Path) -> dict[str, str]:
    """The environment of a fresh installation in ``data_dir``: SQLite, SQLite jobs,
    a generated secret key (none of the test run's HELPLINE_* settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["HELPLINE_DATA_DIR"] = str(data_dir)
    return env


def run(argv: list[str], data_dir: Path, **kw) -> subprocess.CompletedProcess[str]:
    def loose_umask() -> None:
        os.umask(0o022)

    return subprocess.run(  # noqa: S603 - our own interpreter and module
        argv,
        env=helpline_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=loose_umask,  # noqa: PLW1509 - no threads run in the child yet
        check=False,
        **kw,
    )


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(root: Path) -> None:
    loose = {name: f"{mode:04o}" for name, mode in modes(root).items() if mode & 0o077}
    assert loose == {}


def test_a_fresh_installation_creates_only_private_files(tmp_path):
    """`helpline migrate` then `helpline check` in an empty data directory: the
    directory is 0700, the databases (with -wal and -shm), the job database, the
    cache and the secret key are 0600, and the check is silent."""
    data = tmp_path / "data"
    migrate = run([*HELPLINE, "migrate", "-v0"], data)
    assert migrate.returncode == 0, migrate.stderr
    check = run([*HELPLINE, "check"], data)
    assert check.returncode == 0, check.stderr
    assert "helpline.W001" not in check.stderr + check.stdout
    created = modes(data)
    for name in ("helpline.sqlite3", "jobs.sqlite3", "secret_key"):
        assert created[name] == 0o600, name
    assert created["."] == 0o700
    assert_private(data)


SETTINGS_ONLY = """
import json, os, stat
from pathlib import Path
data = Path(os.environ["HELPLINE_DATA_DIR"])
os.environ["DJANGO_SETTINGS_MODULE"] = "helpline.settings"
import django
django.setup()
from django.db import connection
from huey.contrib.djhuey import HUEY
with connection.cursor() as cursor:  # opens the database: WAL, -wal and -shm
    cursor.execute("CREATE TABLE t (x)")
    cursor.execute("INSERT INTO t VALUES (1)")
    HUEY.storage.enqueue(b"job")
    # While both databases are open (SQLite removes -wal and -shm on closing).
    found = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
    found["."] = stat.S_IMODE(data.stat().st_mode)
print(json.dumps(found))
"""


def test_files_are_private_without_the_commands_umask(tmp_path):
    """Loading the settings outside the ``helpline`` command (a WSGI server given
    helpline.wsgi's module path, a script): the files settings.py creates, and
    SQLite's -wal/-shm next to them, are private all the same."""
    data = tmp_path / "data"
    result = run([sys.executable, "-c", SETTINGS_ONLY], data)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    for name in ("helpline.sqlite3", "jobs.sqlite3"):
        for end in ("", "-wal", "-shm"):
            assert created[name + end] == 0o600, name + end
    assert created["secret_key"] == 0o600
    assert created["."] == 0o700
    assert_private(data)


# Each process waits for the start signal, so that all load the settings together.
PRINT_KEY = """
import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.001)
from helpline import settings
print(settings.SECRET_KEY)
"""


def test_processes_starting_together_agree_on_one_secret_key(tmp_path):
    """The key is linked into place complete: eight processes starting at once in
    an empty data directory all read the same key, and no temporary file stays."""
    data = tmp_path / "data"
    procs = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", PRINT_KEY, str(tmp_path / "go")],
            env=helpline_env(data),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    time.sleep(1)  # all eight interpreters up and waiting
    (tmp_path / "go").touch()
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(keys) == 1
    (key,) = keys
    assert len(key) >= 50
    assert (data / "secret_key").read_text().strip() == key
    assert sorted(p.name for p in data.iterdir() if "secret" in p.name) == [
        "secret_key"
    ]


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_stored_attachments_are_private(db, settings, tmp_path, loose_umask):
    """A blob too large for its row goes to the attachment directory as 0600, in
    directories of 0700, whatever the process's umask."""
    settings.HELPLINE_INLINE_BLOB_BYTES = 10
    settings.MEDIA_ROOT = tmp_path / "attachments"
    blob = store_blob(b"a scan of a passport" * 100)
    assert read_blob(blob) == b"a scan of a passport" * 100
    assert (tmp_path / "attachments" / blob.path).is_file()
    assert_private(tmp_path / "attachments")


def test_check_warns_about_data_files_others_may_read(settings, tmp_path):
    """`helpline check` (Django's check framework, security tag) names every loose
    path of the data directory and says how to fix it."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "secret_key").write_text("k")
    (data / "secret_key").chmod(0o644)
    (data / "jobs.sqlite3").write_bytes(b"")
    (data / "jobs.sqlite3").chmod(0o640)
    (data / "attachments").mkdir(mode=0o700)
    settings.DATA_DIR = data
    settings.MEDIA_ROOT = data / "attachments"
    settings.HUEY = {
        **settings.HUEY,
        "connection": {"filename": str(data / "jobs.sqlite3")},
    }
    warnings = [w for w in run_checks(tags=[Tags.security]) if w.id == "helpline.W001"]
    named = {w.obj: w for w in warnings if str(w.obj).startswith(str(data))}
    assert set(named) == {
        str(data),
        str(data / "secret_key"),
        str(data / "jobs.sqlite3"),
    }
    assert "0644" in named[str(data / "secret_key")].msg
    assert named[str(data / "secret_key")].hint.startswith("chmod 600 ")
    assert named[str(data)].hint.startswith("chmod 700 ")
    for path in (data, data / "secret_key", data / "jobs.sqlite3"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    assert not [
        w
        for w in run_checks(tags=[Tags.security])
        if w.id == "helpline.W001" and str(w.obj).startswith(str(data))
    ]
