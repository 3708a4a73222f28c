"""``helpline import znuny``: bring an OTRS/Znuny system across
(docs/migrating-from-znuny.md)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from helpline.errors import HelplineError
from helpline.importers.znuny import runner, verify
from helpline.importers.znuny.report import Progress
from helpline.importers.znuny.source import Source
from helpline.management.base import (
    FAILURE,
    HelplineCommand,
    UsageError,
    internal_error,
)

SOURCE_ENV = "HELPLINE_IMPORT_SOURCE"


class Command(HelplineCommand):
    help = "Import from another ticket system (OTRS 6, Znuny 6.x-7.x)."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser, dest="system")
        znuny = verbs.add_parser(
            "znuny",
            help="Read an OTRS/Znuny database directly and bring everything across.",
            description=(
                "Reads an OTRS 6 or Znuny 6.x-7.x database (PostgreSQL or "
                "MySQL/MariaDB) and imports agents, groups, roles, permissions, queues, "
                "texts, customers and every ticket with its articles, attachments, raw "
                "mail and history. Run again, it imports only what changed since the "
                "last finished run; killed, it can simply be run again."
            ),
        )
        znuny.add_argument(
            "--source",
            metavar="URL",
            default=os.environ.get(SOURCE_ENV),
            help="postgresql://user:pw@host:5432/otrs or mysql://user:pw@host:3306/otrs "
            f"(default: ${SOURCE_ENV}, which keeps the password out of the process "
            "list and the shell history)",
        )
        znuny.add_argument(
            "--article-dir",
            type=Path,
            metavar="DIR",
            help="Znuny's var/article, when articles are stored in the file system.",
        )
        znuny.add_argument(
            "--time-zone",
            metavar="ZONE",
            help="The zone Znuny's times are in (default: its OTRSTimeZone, else UTC).",
        )
        znuny.add_argument(
            "--source-name",
            default="znuny",
            help="A name for this source, if you import from more than one.",
        )
        znuny.add_argument(
            "--dry-run",
            action="store_true",
            help="Read and map everything, write nothing; print the report.",
        )
        znuny.add_argument(
            "--full",
            action="store_true",
            help="Read every row again, not only what changed since the last run.",
        )
        znuny.add_argument(
            "--verify",
            action="store_true",
            help="After importing (or instead, with --verify-only), compare counts and "
            "the SHA-256 of every attachment and raw mail with the source.",
        )
        znuny.add_argument(
            "--verify-only", action="store_true", help="Compare only; import nothing."
        )
        znuny.add_argument(
            "--no-progress", action="store_true", help="No progress line on stderr."
        )
        self.add_json_flag(znuny)
        znuny.set_defaults(handler=self.znuny)

    def znuny(self, options: dict[str, Any]) -> None:
        if not options.get("source"):
            raise UsageError(
                f"give the source database with --source URL or ${SOURCE_ENV}"
            )
        source = Source(
            options["source"],
            article_dir=options.get("article_dir"),
            time_zone=options.get("time_zone"),
            name=options["source_name"],
        )
        as_json = options.get("json", False)
        try:
            result: dict[str, Any] = {}
            if not options["verify_only"]:
                progress = Progress(
                    stream=sys.stderr,
                    enabled=not options["no_progress"] and not as_json,
                )
                try:
                    report, record = runner.run(
                        source,
                        dry_run=options["dry_run"],
                        full=options["full"],
                        progress=progress,
                        say=(lambda _t: None) if as_json else self._say,
                    )
                except (CommandError, HelplineError, KeyboardInterrupt):
                    raise
                except Exception as exc:
                    if not getattr(
                        self, "_called_from_command_line", False
                    ) or options.get("traceback"):
                        raise
                    raise CommandError(
                        f"{internal_error(exc)} The run is recorded as failed; what it "
                        "imported stays, and the same command run again continues from "
                        "there without duplicates.",
                        returncode=FAILURE,
                    ) from exc
                result["report"] = report.as_dict()
                result["dry_run"] = options["dry_run"]
                result["run"] = record.pk if record else None
                if not as_json:
                    self.stdout.write(report.table())
            mismatches: list[verify.Mismatch] = []
            if options["verify"] or options["verify_only"]:
                mismatches = verify.verify(source)
                result["mismatches"] = [str(m) for m in mismatches]
                if not as_json:
                    if mismatches:
                        self.stdout.write(f"verify: {len(mismatches)} differences")
                        for m in mismatches:
                            self.stdout.write(f"  {m}")
                    else:
                        self.stdout.write("verify: source and Helpline agree")
            if as_json:
                self.stdout.write(json.dumps(result, indent=2, sort_keys=True))
            if mismatches:
                raise CommandError(
                    f"{len(mismatches)} differences between source and Helpline",
                    returncode=FAILURE,
                )
        finally:
            source.close()

    def _say(self, text: str) -> None:
        self.stderr.write(text)
