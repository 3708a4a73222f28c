"""Tests of the ``helpline`` commands, in-process and through the console script."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

HELPLINE = str(Path(sys.executable).parent / "helpline")


def run(*args: str, **options: object) -> str:
    """Run a command in-process; its standard output."""
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def fails(*args: str, **options: object) -> CommandError:
    """Run a command that must fail; the error (message and ``returncode``)."""
    with pytest.raises(CommandError) as info:
        run(*args, **options)
    return info.value


def environment(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HELPLINE_DATA_DIR=str(data_dir),
        # Never the developer's or CI's database: always a file in data_dir.
        HELPLINE_DATABASE_URL=f"sqlite:///{data_dir / 'helpline.sqlite3'}",
        HELPLINE_ATTACHMENT_DIR=str(data_dir / "attachments"),
    )
    return env


def helpline(
    data_dir: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess:
    """Run the console script as its own process on the database in ``data_dir``."""
    return subprocess.run(
        [HELPLINE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(data_dir),
        timeout=60,
        check=False,
    )
