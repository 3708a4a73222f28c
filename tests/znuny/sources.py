"""Databases written by the real Znuny 7.0.19 (../shared/znuny/make-znuny-db.sh).

``pristine(storage)`` is the Znuny-written database no test may change (made read-only
with ``default_transaction_read_only``); ``copy()`` is a writable twin with its own
Znuny home, for a test that lets Znuny itself change something (``console()``,
``perl()``) and then imports again; ``drop()`` removes it.

The pristine databases make themselves, cached (works on a fresh machine with an empty
PostgreSQL, as root, like make-znuny-db.sh):

- key = SHA-256 of make-znuny-db.sh, the Znuny tarball, the corpus (names and
  contents) and the script's options; ``znuny_<key12>_<storage>`` is the database,
  ``/tmp/znuny-znuny_<key12>_<storage>`` its Znuny home.
- cache ``${HELPLINE_TEST_CACHE:-~/.cache/helpline-tests}/znuny/<key>/``: ``db.dump``
  (pg_dump -Fc), ``home.tar`` (the Znuny home, file-system articles included),
  ``build.log`` and ``ready``.
- database there: used as is (milliseconds). Missing but cached: restored (seconds).
  Neither: make-znuny-db.sh builds it (minutes: ~3 for db, ~1.5 for fs), then it is
  cached.  An fcntl lock per key keeps two pytest-xdist workers from building at once;
  ``prepare()`` builds the db and fs variants side by side.
- the fs variant is fed 80 of the corpus mails (``--mails 80``), the db variant all of
  them: file-system storage is about the layout of ``var/article``, not volume, and 80
  mails take half the time.  Tests must not assume the db variant's counts on fs.

A copy is ``CREATE DATABASE ... TEMPLATE <pristine>_tpl``: PostgreSQL copies a
template only while nobody is connected to it, and the pristine database is read by
every test, so the template is a twin of it that nothing ever connects to.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG = f"{PG_HOST}:{PG_PORT}"
PG_ADMIN = os.environ.get("PGADMIN", "postgres")
ZUSER = "znuny"  # Znuny's system user and PostgreSQL role (make-znuny-db.sh)
COPY_MARK = "helpline test copy of "

# The repository's sibling "shared" (a checkout beside it), or HELPLINE_SHARED_DIR
# (a git worktree elsewhere).
SHARED = Path(
    os.environ.get("HELPLINE_SHARED_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared"
)
SCRIPT = SHARED / "znuny" / "make-znuny-db.sh"
TARBALL = SHARED / "znuny" / "znuny-7.0.19.tar.gz"
CORPUS = SHARED / "corpus"
OPTIONS = {
    "db": ("--storage", "db", "--mails", "all"),
    "fs": ("--storage", "fs", "--mails", "80"),
}

_counter = itertools.count(1)


@dataclass
class ZnunySource:
    dbname: str
    storage: str  # db | fs
    article_dir: Path | None = None
    home: Path | None = None  # a Znuny home configured for this database

    @property
    def url(self) -> str:
        return f"postgresql://{ZUSER}@{PG}/{self.dbname}"


def cache_root() -> Path:
    base = (
        os.environ.get("HELPLINE_TEST_CACHE")
        or Path.home() / ".cache" / "helpline-tests"
    )
    return Path(base) / "znuny"


def _hash_file(digest: Any, path: Path) -> None:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)


@cache
def _inputs() -> str:
    """SHA-256 of make-znuny-db.sh, the Znuny tarball and the corpus."""
    digest = hashlib.sha256()
    for part in (SCRIPT, TARBALL):
        digest.update(f"{part.name}\0".encode())
        _hash_file(digest, part)
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(CORPUS)}\0".encode())
        _hash_file(digest, path)
    return digest.hexdigest()


def key(storage: str) -> str:
    """What the database is made from: script, Znuny, corpus and options."""
    return hashlib.sha256(f"{_inputs()} {OPTIONS[storage]!r}".encode()).hexdigest()


def _names(storage: str) -> tuple[str, Path, Path]:
    """(database name, Znuny home, cache directory) of a storage variant."""
    if storage not in OPTIONS:
        raise ValueError(f"storage must be db or fs, not {storage!r}")
    k = key(storage)
    dbname = f"znuny_{k[:12]}_{storage}"
    return dbname, Path(f"/tmp/znuny-{dbname}"), cache_root() / k


def pristine(storage: str = "db") -> ZnunySource:
    """The Znuny-written database, never to be changed by a test (made if missing)."""
    dbname, home, _ = _names(storage)
    src = ZnunySource(
        dbname, storage, home / "var" / "article" if storage == "fs" else None, home
    )
    if not _ready(src):
        _ensure(src)
    return src


def prepare(*storages: str) -> None:
    """Make the pristine databases that are missing, side by side."""
    missing = [s for s in storages if not _ready(_bare(s))]
    if len(missing) < 2:
        for storage in missing:
            pristine(storage)
        return
    errors: list[BaseException] = []

    def make(storage: str) -> None:
        try:
            pristine(storage)
        except BaseException as exc:  # reported below, in this thread
            errors.append(exc)

    _system_user()
    threads = [threading.Thread(target=make, args=(s,)) for s in missing]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _bare(storage: str) -> ZnunySource:
    dbname, home, _ = _names(storage)
    return ZnunySource(dbname, storage, None, home)


def _ready(src: ZnunySource) -> bool:
    """The database, its template twin and the home are all in place."""
    assert src.home is not None
    if not (src.home / ".helpline-ready").exists():
        return False
    with admin() as conn:
        oid = _db_oid(conn, src.dbname)
        return oid is not None and _comment(conn, f"{src.dbname}_tpl") == _twin_mark(
            src.dbname, oid
        )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _ensure(src: ZnunySource) -> None:
    assert src.home is not None
    dbname, home, cached = _names(src.storage)
    with _locked(cached.with_name(cached.name + ".lock")):
        if _ready(src):  # another worker made it while we waited
            return
        _system_user()
        if not (cached / "ready").exists():
            _build(src, cached)
        with admin() as conn:
            exists = _db_oid(conn, dbname) is not None
        if not exists:
            _restore(dbname, cached / "db.dump")
        if not (home / "Kernel" / "Config.pm").exists():
            shutil.rmtree(home, ignore_errors=True)
            subprocess.run(
                ["tar", "-xf", str(cached / "home.tar"), "-C", str(home.parent)],
                check=True,
            )
            subprocess.run(["chown", "-R", f"{ZUSER}:{ZUSER}", str(home)], check=True)
        with admin() as conn:
            conn.execute(
                sql.SQL(
                    "ALTER DATABASE {} SET default_transaction_read_only = on"
                ).format(sql.Identifier(dbname))
            )
        _make_twin(dbname, cached / "db.dump")
        (home / ".helpline-ready").write_text(f"{key(src.storage)}\n")


def _system_user() -> None:
    """The znuny system user and role (make-znuny-db.sh makes them too; a restore
    from the cache on a fresh machine needs them first)."""
    if subprocess.run(["id", ZUSER], capture_output=True, check=False).returncode != 0:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                "/nonexistent",
                "--no-create-home",
                "--shell",
                "/bin/bash",
                ZUSER,
            ],
            check=False,
        )
    with admin() as conn:
        if (
            conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (ZUSER,)
            ).fetchone()
            is None
        ):
            with contextlib.suppress(psycopg.errors.DuplicateObject):
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(ZUSER), sql.Literal(ZUSER)
                    )
                )


def _build(src: ZnunySource, cached: Path) -> None:
    """make-znuny-db.sh, then the dump and the home into the cache."""
    assert src.home is not None
    if os.geteuid() != 0:
        raise RuntimeError(
            f"the Znuny database {src.dbname} is neither there nor cached in {cached}:"
            " making it runs ../shared/znuny/make-znuny-db.sh, which needs root (it"
            " installs Debian packages and the znuny system user)"
        )
    started = time.monotonic()
    # A half-made database or home of this key (an interrupted run) goes first.
    with admin() as conn:
        for name in (src.dbname, f"{src.dbname}_tpl"):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
    shutil.rmtree(src.home, ignore_errors=True)
    building = cached.with_name(cached.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    log = building / "build.log"
    with log.open("w") as out:
        done = subprocess.run(
            [
                "bash",
                str(SCRIPT),
                src.dbname,
                *OPTIONS[src.storage],
                "--workdir",
                str(src.home),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"make-znuny-db.sh {src.dbname} failed (log {log}):\n{tail}")
    subprocess.run(
        [
            "pg_dump",
            "-h",
            PG_HOST,
            "-p",
            str(PG_PORT),
            "-U",
            PG_ADMIN,
            "-Fc",
            "-f",
            str(building / "db.dump"),
            src.dbname,
        ],
        check=True,
    )
    subprocess.run(
        [
            "tar",
            "-cf",
            str(building / "home.tar"),
            "-C",
            str(src.home.parent),
            src.home.name,
        ],
        check=True,
    )
    (building / "ready").write_text(f"built in {time.monotonic() - started:.0f} s\n")
    shutil.rmtree(cached, ignore_errors=True)
    building.rename(cached)


def _restore(dbname: str, dump: Path, *, tables: tuple[str, ...] = ()) -> None:
    """A database from a cached dump, under a temporary name until complete."""
    restoring = f"{dbname}_restoring"
    with admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(restoring)
            )
        )
        conn.execute(
            sql.SQL(
                "CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0"
            ).format(sql.Identifier(restoring), sql.Identifier(ZUSER))
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET timezone TO 'UTC'").format(
                sql.Identifier(restoring)
            )
        )
    subprocess.run(
        [
            "pg_restore",
            "-h",
            PG_HOST,
            "-p",
            str(PG_PORT),
            "-U",
            PG_ADMIN,
            "--exit-on-error",
            "-d",
            restoring,
            *(f"--table={t}" for t in tables),
            str(dump),
        ],
        check=True,
    )
    with admin() as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(restoring), sql.Identifier(dbname)
            )
        )


def _twin_mark(dbname: str, oid: int) -> str:
    return f"twin of {dbname} oid {oid}"


def _make_twin(dbname: str, dump: Path) -> None:
    """<dbname>_tpl, restored from the same dump; commented last (the ready mark)."""
    tpl = f"{dbname}_tpl"
    with admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(tpl)
            )
        )
    _restore(tpl, dump)
    with admin() as conn:
        oid = _db_oid(conn, dbname)
        assert oid is not None
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(tpl), sql.Literal(_twin_mark(dbname, oid))
            )
        )


# --- PostgreSQL administration --------------------------------------------------------
def admin() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_ADMIN, dbname="postgres", autocommit=True
    )


def _db_oid(conn: psycopg.Connection, name: str) -> int | None:
    row = conn.execute(
        "SELECT oid FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    return None if row is None else int(row[0])


def _comment(conn: psycopg.Connection, name: str) -> str:
    row = conn.execute(
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database"
        " WHERE datname = %s",
        (name,),
    ).fetchone()
    return "" if row is None else str(row[0])


def _create_from(conn: psycopg.Connection, name: str, template: str) -> None:
    """CREATE DATABASE name TEMPLATE template, waiting out a brief connection to it."""
    stmt = sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(ZUSER), sql.Identifier(template)
    )
    for attempt in range(60):
        try:
            conn.execute(stmt)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 59:
                raise
            time.sleep(0.5)


# --- copies ---------------------------------------------------------------------------
def copy(storage: str = "db") -> ZnunySource:
    """A writable copy of the pristine database, with its own Znuny home."""
    base = pristine(storage)
    assert base.home is not None
    tpl = f"{base.dbname}_tpl"
    _sweep(base.dbname)
    name = f"{base.dbname}_c{os.getpid()}_{next(_counter)}"
    with admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        _create_from(conn, name, tpl)
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(COPY_MARK + base.dbname)
            )
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET timezone TO 'UTC'").format(
                sql.Identifier(name)
            )
        )
    try:
        home = _copy_home(base.home, name)
    except Exception:
        _drop_database(name)
        raise
    article_dir = home / "var" / "article" if storage == "fs" else None
    return ZnunySource(name, storage, article_dir, home)


@cache
def _sweep(base: str) -> None:
    """Once per process: drop the copies a killed test run left (their pid is gone)."""
    pattern = re.compile(rf"^{re.escape(base)}_c(\d+)_\d+$")
    with admin() as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)"
                " AND shobj_description(oid, 'pg_database') = %s",
                (f"{base}_c", COPY_MARK + base),
            )
        ]
    for name in names:
        match = pattern.match(name)
        if match is None or _alive(int(match.group(1))):
            continue
        _drop_database(name)
        for home in Path(tempfile.gettempdir()).glob(f"znuny-{name}-*"):
            shutil.rmtree(home, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# A Znuny home is 160 MB, mostly code nobody writes: the copy links to the pristine
# home's files and copies only what Znuny reads its identity from or writes to.
# bin/ is copied because the console finds its home as the parent of its real path.
_COPIED = {"bin", "var"}
_LINKED_VAR = {"httpd", "fonts", "make-znuny-db"}


def _copy_home(pristine_home: Path, name: str) -> Path:
    home = Path(tempfile.mkdtemp(prefix=f"znuny-{name}-"))
    for entry in pristine_home.iterdir():
        if entry.name == "Kernel":
            continue
        if entry.name == "var":
            (home / "var").mkdir()
            for sub in entry.iterdir():
                if sub.name in _LINKED_VAR:
                    (home / "var" / sub.name).symlink_to(sub)
                elif sub.name == "tmp":  # Znuny's cache: starts empty
                    (home / "var" / "tmp").mkdir()
                elif sub.is_dir():
                    shutil.copytree(sub, home / "var" / sub.name, symlinks=True)
                else:
                    shutil.copy2(sub, home / "var" / sub.name)
        elif entry.name in _COPIED:
            shutil.copytree(entry, home / entry.name, symlinks=True)
        else:
            (home / entry.name).symlink_to(entry)
    kernel = home / "Kernel"
    (kernel / "Config" / "Files").mkdir(parents=True)
    for entry in (pristine_home / "Kernel").iterdir():
        if entry.name not in ("Config", "Config.pm"):
            (kernel / entry.name).symlink_to(entry)
    for entry in (pristine_home / "Kernel" / "Config").iterdir():
        if entry.name != "Files":
            (kernel / "Config" / entry.name).symlink_to(entry)
    for entry in (pristine_home / "Kernel" / "Config" / "Files").iterdir():
        if entry.is_dir():
            (kernel / "Config" / "Files" / entry.name).symlink_to(entry)
        else:
            shutil.copy2(entry, kernel / "Config" / "Files" / entry.name)
    config = (pristine_home / "Kernel" / "Config.pm").read_text()
    config, n_db = re.subn(
        r"(\$Self->\{Database\} = )'[^']*';", rf"\g<1>'{name}';", config
    )
    config, n_home = re.subn(
        r"(\$Self->\{Home\} = )'[^']*';", rf"\g<1>'{home}';", config
    )
    if (n_db, n_home) != (1, 1):
        raise RuntimeError(f"{pristine_home}/Kernel/Config.pm did not look as expected")
    (kernel / "Config.pm").write_text(config)
    subprocess.run(["chown", "-R", "-h", f"{ZUSER}:{ZUSER}", str(home)], check=True)
    return home


def _drop_database(name: str) -> None:
    with admin() as conn:
        if _db_oid(conn, name) is None:
            return
        if not _comment(conn, name).startswith(COPY_MARK):
            raise RuntimeError(f"{name} is not a test copy; not dropping it")
        conn.execute(
            sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
        )


def drop(src: ZnunySource) -> None:
    """Remove a copy: its database and its Znuny home (never a pristine one)."""
    _drop_database(src.dbname)
    if src.home is not None and src.home.name.startswith(f"znuny-{src.dbname}-"):
        shutil.rmtree(src.home, ignore_errors=True)


# --- Znuny itself ---------------------------------------------------------------------
def console(
    src: ZnunySource, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """bin/otrs.Console.pl ARGS as the system user znuny in the source's home."""
    assert src.home is not None
    done = subprocess.run(
        [
            "runuser",
            "-u",
            ZUSER,
            "--",
            str(src.home / "bin" / "otrs.Console.pl"),
            *args,
            "--no-ansi",
        ],
        cwd=src.home,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and done.returncode != 0:
        raise RuntimeError(
            f"otrs.Console.pl {' '.join(args)} failed ({done.returncode}):"
            f"\n{done.stdout}\n{done.stderr}"
        )
    return done


PERL_PROLOGUE = """\
use strict;
use warnings;
use utf8;
use lib '{home}';
use lib '{home}/Kernel/cpan-lib';
use lib '{home}/Custom';
use Kernel::System::ObjectManager;
binmode STDOUT, ':encoding(UTF-8)';
local $Kernel::OM = Kernel::System::ObjectManager->new(
    'Kernel::System::Log' => {{ LogPrefix => 'helpline-test' }},
);
"""


def perl(src: ZnunySource, code: str) -> str:
    """Run a Perl program with Znuny's ObjectManager ($Kernel::OM) in the source's
    home, as the system user znuny; its standard output."""
    assert src.home is not None
    program = PERL_PROLOGUE.format(home=src.home) + code + "\n"
    done = subprocess.run(
        ["runuser", "-u", ZUSER, "--", "perl", "-"],
        input=program,
        cwd=src.home,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"perl failed ({done.returncode}):\n{done.stderr}")
    return done.stdout
