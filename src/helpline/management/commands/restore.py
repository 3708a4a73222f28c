"""``helpline restore SRC``: restore a backup into an empty instance, or check one.

    helpline restore SRC [--json] [--pg-bin DIR]
    helpline restore --verify SRC [--json]

SRC is a set (DEST/<time>) or a backup directory (then its newest set).  The
configured database and attachment storage must be empty (docs/backup.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from helpline.backup.restore import restore, verify
from helpline.management.base import HelplineCommand


class Command(HelplineCommand):
    help = (
        "Restore a backup set into the configured empty database and storage, "
        "checking every hash before and after; --verify only checks the set."
    )

    # A failed system check must never stop a backup (or a restore of one).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "src", metavar="SRC", help="A backup set, or a backup directory."
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="Check every file of the set against its manifest; restore nothing.",
        )
        parser.add_argument(
            "--pg-bin",
            metavar="DIR",
            help="Where pg_restore is (default: HELPLINE_PG_BIN, else the PATH).",
        )
        self.add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["json"] or options["verbosity"] == 0
        progress = None if quiet else self.stdout.write
        source = Path(options["src"])
        if options["verify"]:
            result = verify(source, progress=progress)
        else:
            result = restore(source, pg_bin=options["pg_bin"], progress=progress)
        if options["json"]:
            self.emit_json(result.as_dict())
            return
        what = "restored" if result.restored else "verified"
        self.stdout.write(f"{result.path} {what} in {result.seconds:.1f} s")
        if result.pending_migrations:
            self.stdout.write(
                f"{result.pending_migrations} migration(s) of this version are not "
                "applied yet: run `helpline migrate`"
            )
