"""The test infrastructure itself: writable copies of the Znuny database."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest

from tests.znuny import sources


def _queues(src: sources.ZnunySource) -> set[str]:
    with psycopg.connect(src.url) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM queue")}


def test_a_console_change_on_the_copy_stays_in_the_copy(znuny_copy, znuny_db):
    assert znuny_copy.dbname != znuny_db.dbname
    assert _queues(znuny_copy) == _queues(znuny_db)
    done = sources.console(
        znuny_copy, "Admin::Queue::Add", "--name", "Copy Only", "--group", "users"
    )
    assert "Done" in done.stdout
    assert "Copy Only" in _queues(znuny_copy)
    assert "Copy Only" not in _queues(znuny_db)
    # Znuny's API in the copy's home sees it too; the pristine home does not.
    code = "print $Kernel::OM->Get('Kernel::System::Queue')->QueueLookup(Queue => 'Copy Only') // 'none';"
    assert sources.perl(znuny_copy, code).strip().isdigit()
    assert sources.perl(znuny_db, code).strip() == "none"


def test_a_failing_console_command_is_an_error(znuny_copy):
    done = sources.console(znuny_copy, "Admin::Queue::Add", "--name", "X", check=False)
    assert done.returncode != 0
    try:
        sources.console(znuny_copy, "No::Such::Command")
    except RuntimeError as exc:
        assert "No::Such::Command" in str(exc)
    else:
        raise AssertionError("an unknown command did not fail")


def test_drop_removes_the_database_and_the_home():
    src = sources.copy("db")
    assert src.home is not None and (src.home / "Kernel" / "Config.pm").is_file()
    assert f"'{src.dbname}'" in (src.home / "Kernel" / "Config.pm").read_text()
    sources.drop(src)
    assert not src.home.exists()
    with sources.admin() as conn:
        assert (
            conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (src.dbname,)
            ).fetchone()
            is None
        )


def test_an_fs_copy_has_its_own_articles(znuny_fs):
    src = sources.copy("fs")
    try:
        assert src.article_dir is not None and znuny_fs.article_dir is not None
        assert not src.article_dir.is_symlink()
        assert src.article_dir.resolve() != znuny_fs.article_dir.resolve()
        ours = sorted(
            p.relative_to(src.article_dir) for p in src.article_dir.rglob("*")
        )
        theirs = sorted(
            p.relative_to(znuny_fs.article_dir) for p in znuny_fs.article_dir.rglob("*")
        )
        assert ours == theirs and len(ours) > 10
    finally:
        sources.drop(src)


def test_the_pristine_database_is_read_only(znuny_db):
    with (
        psycopg.connect(znuny_db.url) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("UPDATE queue SET comments = 'x'")


def test_the_name_carries_the_key_of_its_inputs(znuny_db, znuny_fs):
    assert sources.key("db") != sources.key("fs")
    assert znuny_db.dbname == f"znuny_{sources.key('db')[:12]}_db"
    assert znuny_fs.dbname == f"znuny_{sources.key('fs')[:12]}_fs"
    cached = sources.cache_root() / sources.key("db")
    assert (cached / "ready").is_file()
    assert (cached / "db.dump").stat().st_size > 0


def test_the_cached_dump_restores_the_same_database(znuny_db):
    scratch = f"znuny_restore_check_{os.getpid()}"
    dump = sources.cache_root() / sources.key("db") / "db.dump"
    sources._restore(scratch, dump, tables=("ticket", "article", "ticket_history"))
    try:
        counts = "SELECT (SELECT count(*) FROM ticket), (SELECT count(*) FROM article),"
        counts += " (SELECT max(change_time) FROM ticket_history)"
        with (
            psycopg.connect(znuny_db.url) as a,
            psycopg.connect(
                f"postgresql://{sources.ZUSER}@{sources.PG}/{scratch}"
            ) as b,
        ):
            assert a.execute(counts).fetchone() == b.execute(counts).fetchone()
    finally:
        with sources.admin() as conn:
            conn.execute(f'DROP DATABASE "{scratch}" WITH (FORCE)')


def test_copies_left_by_a_killed_run_are_swept(znuny_db):
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    src = sources.copy("db")
    stale = src.dbname.replace(f"_c{os.getpid()}_", f"_c{dead.pid}_")
    with sources.admin() as conn:
        conn.execute(f'ALTER DATABASE "{src.dbname}" RENAME TO "{stale}"')
    home = src.home
    assert home is not None
    home.rename(home.with_name(home.name.replace(src.dbname, stale)))
    sources._sweep.cache_clear()
    sources._sweep(znuny_db.dbname)
    with sources.admin() as conn:
        assert (
            conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (stale,)
            ).fetchone()
            is None
        )
    assert not list(home.parent.glob(f"znuny-{stale}-*"))
