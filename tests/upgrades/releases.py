"""Helpline's releases, by commit: tags do not always travel with a clone (a CI
checkout, a mirror), a commit does.  docs/upgrading.md has the same table; a new
release adds its line here, and becomes the previous release of the next one."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# tag -> commit
RELEASES = {
    "v0.1.0": "35dfcf09ee3503de6e42345bcbe05ad0817beb59",
}
PREVIOUS = "v0.1.0"

# The previous release's own tests that run against a database migrated by this
# code: mail intake (LMTP listener, pipe, a whole conversation through SMTP), the
# web interface, the API and the command line on the existing schema.  Chosen to
# touch every big table (tickets, articles, history, search entries) in ~10 s.
SMOKE_TESTS = [
    "tests/mail/test_answer_roundtrip.py",
    "tests/transports/test_listener.py",
    "tests/transports/test_pipe.py",
    "tests/web/test_zoom.py",
    "tests/web/test_overviews.py",
    "tests/web/test_search.py",
    "tests/api/test_tickets.py",
    "tests/api/test_articles.py",
    "tests/cli/test_ticket_command.py",
]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "helpline-tests" / "releases"


def release_tree(tag: str) -> Path:
    """The files of release ``tag`` (its commit), extracted once with ``git archive``
    into a cache directory keyed by the commit (or a temporary one)."""
    commit = RELEASES[tag]
    try:
        cache = cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        cache = Path(tempfile.mkdtemp(prefix="helpline-releases-"))
    tree = cache / commit
    if (tree / "pyproject.toml").exists():
        return tree
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if found.returncode != 0:
        raise RuntimeError(
            f"release {tag} is commit {commit}, which this clone does not have: "
            "fetch the whole history (git fetch --unshallow) to test upgrades"
        )
    partial = Path(tempfile.mkdtemp(prefix=f".{commit}-", dir=cache))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit],
            capture_output=True,
            check=True,
        )
        subprocess.run(
            ["tar", "-x", "-C", str(partial)], input=archive.stdout, check=True
        )
        # Two test processes may extract at once: the first one's tree stays.
        try:
            partial.rename(tree)
        except OSError:
            shutil.rmtree(partial)
    finally:
        if partial.exists():
            shutil.rmtree(partial)
    return tree
