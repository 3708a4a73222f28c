"""The version, the changelog and the table of releases agree."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.upgrades.releases import RELEASES, ROOT

HELPLINE = str(Path(sys.executable).parent / "helpline")


def test_helpline_version_prints_the_version_of_pyproject():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = subprocess.run(
        [HELPLINE, "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"helpline {version}"


def test_the_changelog_has_a_section_for_every_release_and_the_unreleased_work():
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings[0] == "Unreleased"
    assert {f"v{h}" for h in headings[1:]} == set(RELEASES)


def test_each_release_is_a_commit_of_this_history_whose_version_is_its_tag():
    for tag, commit in RELEASES.items():
        pyproject = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:pyproject.toml"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f'version = "{tag.removeprefix("v")}"' in pyproject, tag
