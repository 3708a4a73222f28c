"""Databases written by the real Znuny 7.0.19 (../shared/znuny/make-znuny-db.sh).

``pristine(storage)`` is the Znuny-written database no test may change; ``copy()``
is a writable twin with its own Znuny home, for a test that lets Znuny itself change
something (``console()``, ``perl()``) and then imports again; ``drop()`` removes it.

FIRST VERSION (to be replaced by the cached set-up): the pristine databases are
``znuny_test`` (articles in the database) and ``znuny_fs`` (in the file system) that
make-znuny-db.sh made on this machine.

A copy is ``CREATE DATABASE ... TEMPLATE <pristine>_tpl``: PostgreSQL copies a
template only while nobody is connected to it, and the pristine database is read by
every test, so the template is a twin of it that nothing ever connects to.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG = f"{PG_HOST}:{PG_PORT}"
PG_ADMIN = os.environ.get("PGADMIN", "postgres")
ZUSER = "znuny"  # Znuny's system user and PostgreSQL role (make-znuny-db.sh)
COPY_MARK = "helpline test copy of "

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


def pristine(storage: str = "db") -> ZnunySource:
    """The Znuny-written database, never to be changed by a test."""
    if storage == "db":
        return ZnunySource("znuny_test", "db", None, Path("/tmp/znuny-znuny_test"))
    if storage == "fs":
        return ZnunySource(
            "znuny_fs",
            "fs",
            Path("/tmp/znuny-znuny_fs/var/article"),
            Path("/tmp/znuny-znuny_fs"),
        )
    raise ValueError(f"storage must be db or fs, not {storage!r}")


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


def _dump_into(source: str, target: str) -> None:
    """Copy a database that others are connected to: pg_dump | pg_restore."""
    dump = subprocess.Popen(
        ["pg_dump", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_ADMIN, "-Fc", source],
        stdout=subprocess.PIPE,
    )
    restore = subprocess.run(
        [
            "pg_restore",
            "-h",
            PG_HOST,
            "-p",
            str(PG_PORT),
            "-U",
            PG_ADMIN,
            "--exit-on-error",
            "--no-owner",
            "--role",
            ZUSER,
            "-d",
            target,
        ],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dump.stdout is not None
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        raise RuntimeError(f"copying {source} into {target} failed: {restore.stderr}")


def template_of(src: ZnunySource) -> str:
    """The never-connected twin of a pristine database (made when missing or stale)."""
    tpl = f"{src.dbname}_tpl"
    with admin() as conn:
        oid = _db_oid(conn, src.dbname)
        if oid is None:
            raise RuntimeError(f"the Znuny database {src.dbname} does not exist")
        mark = f"twin of {src.dbname} oid {oid}"
        if _db_oid(conn, tpl) is not None:
            if _comment(conn, tpl) == mark:
                return tpl
            conn.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(tpl))
            )
        building = f"{tpl}_building_{os.getpid()}"
        conn.execute(
            sql.SQL(
                "CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0"
            ).format(sql.Identifier(building), sql.Identifier(ZUSER))
        )
        try:
            _dump_into(src.dbname, building)
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET timezone TO 'UTC'").format(
                    sql.Identifier(building)
                )
            )
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(building), sql.Identifier(tpl)
                )
            )
        except Exception:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(building)
                )
            )
            raise
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(tpl), sql.Literal(mark)
            )
        )
    return tpl


# --- copies ---------------------------------------------------------------------------
def copy(storage: str = "db") -> ZnunySource:
    """A writable copy of the pristine database, with its own Znuny home."""
    base = pristine(storage)
    assert base.home is not None
    tpl = template_of(base)
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
