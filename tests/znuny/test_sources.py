"""The test infrastructure itself: writable copies of the Znuny database."""

from __future__ import annotations

import psycopg

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
