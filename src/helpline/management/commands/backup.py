"""``helpline backup DEST``: back up the database and every blob into DEST.

    helpline backup DEST [--keep N] [--json] [--pg-bin DIR]

Safe while Helpline runs: the database is dumped in one snapshot and the blobs that
snapshot refers to are copied afterwards (docs/backup.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from helpline.backup.create import make_backup
from helpline.management.base import HelplineCommand, positive_int


class Command(HelplineCommand):
    help = (
        "Back up the database (one snapshot) and the blobs it refers to into a new "
        "set in DEST; blobs a former backup in DEST holds are not copied again."
    )

    # A failed system check must never stop a backup (or a restore of one).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dest", metavar="DEST", help="The backup directory.")
        parser.add_argument(
            "--keep",
            type=positive_int,
            metavar="N",
            help="Then delete all but the N newest sets, and the blobs none of them "
            "refers to.",
        )
        parser.add_argument(
            "--pg-bin",
            metavar="DIR",
            help="Where pg_dump is (default: HELPLINE_PG_BIN, else the PATH).",
        )
        self.add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["json"] or options["verbosity"] == 0
        result = make_backup(
            Path(options["dest"]),
            keep=options["keep"],
            pg_bin=options["pg_bin"],
            progress=None if quiet else self.stdout.write,
        )
        if options["json"]:
            self.emit_json(result.as_dict())
            return
        self.stdout.write(f"backup {result.path} complete in {result.seconds:.1f} s")
        if result.pruned_sets:
            self.stdout.write(
                f"pruned {len(result.pruned_sets)} old set(s) "
                f"({', '.join(result.pruned_sets)}) and {result.pruned_blobs} blob(s)"
            )
