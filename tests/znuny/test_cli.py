"""``helpline import znuny`` as an operator runs it: the real command in a process of
its own, with a terminal (the progress bar) or into a log, the report at the end,
``--dry-run``, ``--json``, and clear errors without a traceback."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from helpline.models import ImportRun, Ticket
from tests.support import database_url

ROOT = Path(__file__).resolve().parents[2]
HELPLINE = Path(sys.executable).parent / "helpline"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HELPLINE_DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
        "HELPLINE_ATTACHMENT_DIR": str(tmp_path / "media"),
        "HELPLINE_LOG_LEVEL": "WARNING",
    }


def _in_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal; everything it wrote."""
    leader, follower = pty.openpty()
    child = subprocess.Popen(  # noqa: S603
        [str(HELPLINE), *args], stdout=follower, stderr=follower, env=env, cwd=ROOT
    )
    os.close(follower)
    out = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            child.kill()
            raise AssertionError("no output for 120 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    return child.wait(timeout=60), out.decode("utf-8", "replace")


def test_the_command_shows_progress_with_an_eta_and_ends_with_the_report(
    znuny_db, tmp_path
):
    code, out = _in_a_terminal(
        ["import", "znuny", "--source", znuny_db.url], _env(tmp_path)
    )
    assert code == 0, out[-3000:]
    total = Ticket.objects.count()
    assert total > 300
    assert f"tickets: {total}/{total} 100%" in out  # the bar, rewritten in place
    assert "\x1b[K" in out and "ETA" in out
    table = out[out.index("kind") :]
    assert "source" in table and "imported" in table and "skipped" in table
    row = next((x for x in table.splitlines() if x.startswith("ticket ")), None)
    assert row, table
    assert row.split()[1:3] == [str(total), str(total)]  # source, imported
    watchers = next(x for x in table.splitlines() if x.startswith("watcher "))
    source_count, imported = watchers.split()[1:3]
    assert int(source_count) == int(imported) > 0  # every kind counts its source rows
    assert "Traceback" not in out
    assert ImportRun.objects.get().status == "done"


def test_into_a_log_the_progress_is_plain_lines(znuny_db, tmp_path):
    done = subprocess.run(  # noqa: S603
        [str(HELPLINE), "import", "znuny", "--source", znuny_db.url],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "\x1b" not in done.stderr and "\r" not in done.stderr
    total = Ticket.objects.count()
    assert f"tickets: {total}/{total} 100%" in done.stderr.splitlines()[-5:] or any(
        line.startswith(f"tickets: {total}/{total} 100%")
        for line in done.stderr.splitlines()
    )


def test_a_dry_run_reports_everything_and_writes_nothing(znuny_db, tmp_path):
    """Not a row, and not a blob object either: with a small inline limit most
    attachments go to the blob store before their rows, and are taken back."""
    env = {
        **_env(tmp_path),
        "HELPLINE_INLINE_BLOB_BYTES": "64",
        # The source from the environment: no password in the process list.
        "HELPLINE_IMPORT_SOURCE": znuny_db.url,
    }
    done = subprocess.run(  # noqa: S603
        [
            str(HELPLINE),
            "import",
            "znuny",
            "--dry-run",
            "--json",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["dry_run"] is True and result["run"] is None
    assert result["report"]["ticket"]["imported"] > 300
    assert Ticket.objects.count() == 0
    assert not ImportRun.objects.exists()
    assert (tmp_path / "media" / "blobs").is_dir()  # they were written, then removed
    assert [p for p in (tmp_path / "media" / "blobs").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("oracle://db/otrs", "unknown source database"),
        ("postgresql://nobody@127.0.0.1:1/otrs", "cannot connect"),
    ],
)
def test_a_bad_source_is_a_clear_error_without_a_traceback(source, message, tmp_path):
    done = subprocess.run(  # noqa: S603
        [str(HELPLINE), "import", "znuny", "--source", source],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


BROKEN_PHASE = """
import sys
import django
django.setup()
from helpline.importers.znuny import access
def broken(ctx):
    raise RuntimeError("a bug in a phase")
access.PHASES[:] = [("access report", broken)]
from helpline.cli import main
sys.argv = ["helpline", "import", "znuny", "--source", sys.argv[1]]
main()
"""


def test_a_bug_in_a_phase_is_one_clear_line_and_the_traceback_goes_to_a_file(
    znuny_db, tmp_path
):
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", BROKEN_PHASE, znuny_db.url],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr + done.stdout
    line = next(x for x in done.stderr.splitlines() if x.startswith("error: "))
    assert "internal error (RuntimeError)" in line
    assert "continues from there without duplicates" in line
    crash = Path(line.split("The details are in ")[1].split(";")[0])
    try:
        assert "a bug in a phase" in crash.read_text()
        assert crash.stat().st_mode & 0o077 == 0  # the operator's eyes only
    finally:
        crash.unlink()
    run = ImportRun.objects.get()
    assert run.status == "failed"
    assert Ticket.objects.count() > 300  # what was imported before the bug stays


def test_articles_in_the_file_system_without_the_directory_are_refused(
    znuny_fs, tmp_path
):
    """Znuny says (its SysConfig) that it keeps articles in the file system: without
    --article-dir the attachments and raw mail would silently be missing."""
    done = subprocess.run(  # noqa: S603
        [str(HELPLINE), "import", "znuny", "--source", znuny_fs.url],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "ArticleStorageFS" in done.stderr and "--article-dir" in done.stderr
    assert "Traceback" not in done.stderr
    assert Ticket.objects.count() == 0 and not ImportRun.objects.exists()


def test_without_a_source_the_command_says_how_to_give_one(tmp_path):
    env = {k: v for k, v in _env(tmp_path).items() if k != "HELPLINE_IMPORT_SOURCE"}
    done = subprocess.run(  # noqa: S603
        [str(HELPLINE), "import", "znuny"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--source URL or $HELPLINE_IMPORT_SOURCE" in done.stderr
