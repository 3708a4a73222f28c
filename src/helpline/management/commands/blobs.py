"""``helpline blobs``: move blobs between the attachment directory and the object
store, and check a store against the database (docs/object-store.md)."""

from __future__ import annotations

import re
from argparse import ArgumentTypeError
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from helpline import blobmaintenance
from helpline.blobstore import STORES
from helpline.management.base import FAILURE, HelplineCommand

_AGE = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}


def age(text: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``1d`` or plain seconds."""
    match = _AGE.match(text.strip().lower())
    if match is None:
        raise ArgumentTypeError(f"{text!r} is not an age such as 30m, 12h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


class Command(HelplineCommand):
    help = "Copy blobs between the file system and the object store; verify a store."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        migrate = verbs.add_parser(
            "migrate",
            help="Copy every stored blob into the given store from the other one.",
            description=(
                "Copies the blobs kept outside the database (larger than "
                "HELPLINE_INLINE_BLOB_BYTES) from the other store; each copy is read "
                "back and its SHA-256 checked. Killed, it can simply be run again: "
                "what the target holds already is skipped. Nothing is deleted from the "
                "source. Exit status 1 if any blob could not be copied."
            ),
        )
        migrate.add_argument("--to", choices=STORES, required=True)
        migrate.add_argument(
            "--verify-existing",
            action="store_true",
            help=(
                "Read back and hash the objects the target holds already (default: "
                "an object of the right size counts as copied)."
            ),
        )
        migrate.set_defaults(handler=self.migrate)

        verify = verbs.add_parser(
            "verify",
            help="Check that every blob's object is there with the right SHA-256.",
            description=(
                "Reads every object a blob row needs and compares its SHA-256; lists "
                "objects no row needs (orphans). Exit status 1 if an object is missing "
                "or corrupt."
            ),
        )
        verify.add_argument(
            "--store",
            choices=STORES,
            help="The store to check (default: the one in use, HELPLINE_BLOB_STORE).",
        )
        verify.add_argument(
            "--delete-orphans",
            action="store_true",
            help="Delete the orphans older than --older-than.",
        )
        verify.add_argument(
            "--older-than",
            type=age,
            default=timedelta(days=1),
            metavar="AGE",
            help=(
                "Minimum age of an orphan to delete (default 1d; 30m, 12h, 2d...): a "
                "blob written a moment ago may belong to a row not committed yet."
            ),
        )
        verify.set_defaults(handler=self.verify)

    def _progress(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def migrate(self, options: dict[str, Any]) -> None:
        to = options["to"]
        self.stdout.write(f"Copying blobs into the {to} store...")
        report = blobmaintenance.migrate(
            to, verify_existing=options["verify_existing"], progress=self._progress
        )
        self.stdout.write(
            f"Done: {report.total} blobs, {report.copied} copied and verified "
            f"({report.copied_bytes} bytes), {report.present} there already."
        )
        if to != settings.HELPLINE_BLOB_STORE:
            self.stdout.write(
                f"Set HELPLINE_BLOB_STORE={to}, restart every process, and run this "
                "again to copy what arrived meanwhile; then 'helpline blobs verify'."
            )
        if report.problems:
            for problem in report.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"{len(report.problems)} blob(s) could not be copied (listed above).",
                returncode=FAILURE,
            )

    def verify(self, options: dict[str, Any]) -> None:
        kind = options["store"] or settings.HELPLINE_BLOB_STORE
        report = blobmaintenance.verify(
            kind,
            delete_orphans=options["delete_orphans"],
            older_than=options["older_than"],
            progress=self._progress,
        )
        for name in report.missing:
            self.stdout.write(f"missing: {name}")
        for name in report.corrupt:
            self.stdout.write(f"corrupt (wrong SHA-256): {name}")
        deleted = set(report.deleted)
        for obj in report.orphans:
            what = "orphan deleted" if obj.name in deleted else "orphan"
            self.stdout.write(
                f"{what}: {obj.name} ({obj.size} bytes, {obj.modified:%Y-%m-%d %H:%M})"
            )
        self.stdout.write(
            f"{report.checked} objects checked in the {kind} store: "
            f"{len(report.missing)} missing, {len(report.corrupt)} corrupt, "
            f"{len(report.orphans)} orphans ({len(report.deleted)} deleted)."
        )
        if not report.ok:
            raise CommandError(
                "The store lacks or holds damaged blobs (listed above): restore them "
                "from a backup or from the other store ('helpline blobs migrate').",
                returncode=FAILURE,
            )
