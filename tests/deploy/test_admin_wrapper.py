"""deploy/helpline-admin: ``helpline`` with the services' environment file, read as
systemd reads it, and nothing else of the caller's environment.  Run here as the
current user (the drop to another user is exercised by test_installed.py as root)."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SHOW = "import os, json; print(json.dumps(dict(os.environ), sort_keys=True))"


def helpline_admin(tmp_path: Path, env_text: str, *argv: str):
    env_file = tmp_path / "helpline.env"
    env_file.write_text(env_text)
    caller = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HELPLINE_ENV_FILE": str(env_file),
        "HELPLINE_USER": getpass.getuser(),
        "HELPLINE_BIN": str(Path(sys.executable).with_name("helpline")),
        "HELPLINE_WORKDIR": str(tmp_path),
        "SOMETHING_OF_THE_CALLER": "leaked",
    }
    return subprocess.run(
        ["bash", str(DEPLOY / "helpline-admin"), *argv],
        env=caller,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_sees_the_environment_file_and_nothing_else(tmp_path):
    result = helpline_admin(
        tmp_path,
        "# a comment\n\n  ; another\n"
        f"HELPLINE_DATA_DIR={tmp_path / 'data'}\n"
        'HELPLINE_QUOTED="two words"\n'
        "HELPLINE_SINGLE='single quotes'\n"
        "HELPLINE_URL=postgres://u:p$w=rd@127.0.0.1/db\n"
        "HELPLINE_LAST=no newline at the end",
        "shell",
        "-c",
        SHOW,
    )
    assert result.returncode == 0, result.stderr
    # (Django's shell may first say what it imported.)
    env = json.loads(result.stdout.strip().splitlines()[-1])
    assert env["HELPLINE_QUOTED"] == "two words"
    assert env["HELPLINE_SINGLE"] == "single quotes"
    assert env["HELPLINE_URL"] == "postgres://u:p$w=rd@127.0.0.1/db"
    assert env["HELPLINE_LAST"] == "no newline at the end"
    assert env["HOME"] == str(tmp_path)
    assert "SOMETHING_OF_THE_CALLER" not in env
    assert "HELPLINE_ENV_FILE" not in env
    assert "HELPLINE_BIN" not in env


def test_a_line_that_is_not_a_setting_is_refused_with_its_number(tmp_path):
    result = helpline_admin(
        tmp_path, "HELPLINE_DEBUG=false\nexport HELPLINE_X=1\n", "check"
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"helpline-admin: {tmp_path / 'helpline.env'}:2: not KEY=value\n"
    )


def test_a_missing_environment_file_is_a_clear_error(tmp_path):
    result = subprocess.run(
        ["bash", str(DEPLOY / "helpline-admin"), "check"],
        env={
            "HELPLINE_ENV_FILE": str(tmp_path / "helpline.env"),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot read" in result.stderr
    assert "Traceback" not in result.stderr
