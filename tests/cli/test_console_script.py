"""The real ``helpline`` console script, run as a process on its own database."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password

from helpline.demo import STATEMENT
from tests.cli import helpline


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A migrated database with the demo organisation, shared by this module's tests."""
    path = tmp_path_factory.mktemp("helpline-data")
    for args in (
        ("migrate", "-v0"),
        ("seed_demo", "--admin-password", "demo pass 123"),
    ):
        done = helpline(path, *args)
        assert done.returncode == 0, done.stderr
    return path


def test_ticket_show_as_admin_prints_a_seeded_ticket_with_articles_and_history(
    data_dir,
):
    listed = helpline(data_dir, "ticket", "list", "--as", "admin", "--json")
    assert listed.returncode == 0, listed.stderr
    tickets = json.loads(listed.stdout)
    number = next(t["number"] for t in tickets if t["queue"] == "permissions")

    shown = helpline(data_dir, "ticket", "show", number, "--as", "admin", "--json")
    assert shown.returncode == 0, shown.stderr
    ticket = json.loads(shown.stdout)
    assert ticket["number"] == number
    assert len(ticket["articles"]) >= 2
    assert ticket["articles"][0]["body_text"].startswith("Hello,")
    assert ticket["articles"][0]["attachments"][0]["sha256"] == (
        hashlib.sha256(STATEMENT.encode()).hexdigest()
    )
    assert [h["type"] for h in ticket["history"]][:2] == ["created", "article"]
    assert ("article", "carla") in [(h["type"], h["actor"]) for h in ticket["history"]]


def test_agent_add_takes_the_password_from_stdin(data_dir):
    done = helpline(
        data_dir,
        *("agent", "add", "dora", "--email", "dora@example.org", "--password-stdin"),
        stdin="a long pass phrase\n",
    )
    assert done.returncode == 0, done.stderr
    assert "Agent 'dora' created." in done.stdout
    with sqlite3.connect(data_dir / "helpline.sqlite3") as db:
        (stored,) = db.execute(
            "SELECT password FROM auth_user WHERE username = 'dora'"
        ).fetchone()
    assert check_password("a long pass phrase", stored)
    assert not check_password("a long pass phrase\n", stored)


def test_a_seeded_database_is_left_alone_by_a_second_seeding(data_dir):
    done = helpline(data_dir, "seed_demo")
    assert done.returncode == 0, done.stderr
    assert "nothing changed" in done.stdout
    assert "Demo agents" not in done.stdout


def test_an_expected_error_is_one_line_on_stderr_with_exit_status_1(data_dir):
    done = helpline(data_dir, "queue", "add", "Billing", "--group", "Nope")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "error: No group named 'Nope'." in done.stderr.splitlines()
    assert "Traceback" not in done.stderr


def test_an_inaccessible_ticket_is_reported_as_not_found(data_dir):
    tickets = json.loads(
        helpline(data_dir, "ticket", "list", "--as", "admin", "--json").stdout
    )
    number = next(t["number"] for t in tickets if t["queue"] == "info-de")
    done = helpline(data_dir, "ticket", "show", number, "--as", "carla")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == f"error: Ticket {number} not found."


def test_an_unknown_permission_exits_2_and_lists_the_valid_ones(data_dir):
    done = helpline(data_dir, "grant", "--agent", "alice", "--group", "info", "write")
    assert done.returncode == 2
    assert "error: Unknown permission 'write'" in done.stderr
    assert "override_lock" in done.stderr


def test_a_malformed_command_line_exits_2_with_the_usage(data_dir):
    done = helpline(data_dir, "queue", "add", "Billing")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: helpline queue add")
    assert "--group" in done.stderr


def test_help_works_from_the_console_script(data_dir):
    done = helpline(data_dir, "ticket", "show", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: helpline ticket show")


def test_an_unexpected_error_is_one_line_and_a_file_never_a_traceback(tmp_path):
    """A database that is not one (a broken disk, a wrong file) makes Django raise
    an error no command expects: the operator gets one line naming it and where the
    traceback went, exit status 70; --traceback shows it as Django does."""
    (tmp_path / "helpline.sqlite3").write_bytes(b"this is not a database" * 100)
    done = helpline(tmp_path, "ticket", "list", "--as", "admin")
    assert done.returncode == 70, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error: ")]
    assert "internal error (DatabaseError)" in line
    crash = Path(line.split("The details are in ")[1].split(";")[0])
    try:
        assert "file is not a database" in crash.read_text()
        assert crash.stat().st_mode & 0o077 == 0
    finally:
        crash.unlink()
    shown = helpline(tmp_path, "ticket", "--traceback", "list", "--as", "admin")
    assert shown.returncode != 0 and "Traceback" in shown.stderr
