"""``helpline privacy-export ADDRESS -o FILE.zip --as LOGIN``: a subject-access export
(GDPR Art. 15) written at once into a file, by a holder of ``handle_personal_data``.

It is recorded as the web page's and the API's are: a privacy run, an entry in the
administration log, and a read of kind ``export`` of each ticket in the read audit
(channel ``cli``).  The file is created readable by its owner only (0600) and never
overwrites one that exists.  docs/data-protection.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from helpline.actions import subject_access
from helpline.management.base import (
    FAILURE,
    HelplineCommand,
    UsageError,
    acting_agent,
)
from helpline.models import PrivacyRunStatus, ReadChannel


class Command(HelplineCommand):
    help = (
        "Write everything a person sent or received (their tickets, messages as "
        ".eml, attachments, tickets.json, a summary) into a zip: a subject-access "
        "export. Needs the handle_personal_data right (helpline right give)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", help="The person's email address.")
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            metavar="FILE.zip",
            help="The zip to write (must not exist; created with mode 0600).",
        )
        parser.add_argument(
            "--include-internal",
            action="store_true",
            help=(
                "Include internal notes and messages to third parties, which the "
                "person was not shown (left out by default)."
            ),
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _ in settings.LANGUAGES],
            default="",
            help="Language of the summary and README (default: the server's).",
        )
        self.add_as_agent(parser)
        self.add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["output"]).expanduser().absolute()
        if target.exists():
            raise UsageError(f"{target} exists; name a new file.")
        if not target.parent.is_dir():
            raise UsageError(f"{target.parent} is not a directory.")
        agent = acting_agent(options["as_login"])
        run = subject_access.request_export(
            agent,
            options["address"],
            include_internal=options["include_internal"],
            language=options["language"],
            channel=ReadChannel.CLI,
            client="helpline privacy-export",
        )
        run = subject_access.run_export(run.pk, target=target)
        if run.status != PrivacyRunStatus.DONE:
            message = "; ".join(str(e) for e in run.errors) or "The export failed."
            raise CommandError(message, returncode=FAILURE)
        report = run.report
        if options["json"]:
            self.emit_json({"id": run.pk, "file": str(target), **report})
            return
        self.stdout.write(
            f"Wrote {target}: {report['tickets']} tickets, {report['messages']} "
            f"messages, {report['attachments']} attachments ({report['size']} bytes)."
        )
