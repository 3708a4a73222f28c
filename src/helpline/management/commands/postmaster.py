"""``helpline postmaster``: deliver one message from standard input (an MTA's pipe).

Exit statuses follow sysexits.h, as MTAs expect: 0 stored, 75 try again later, 65 the
message cannot be taken (empty, too big), 64 wrong command line.  See
``helpline.mail.transports.pipe`` and docs/receiving-mail.md.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpline.mail.transports import pipe


class Command(BaseCommand):
    help = (
        "Read one message from standard input, store it and process it: what an MTA "
        "runs for each message (Postfix pipe or alias). Exit status: 0 stored; "
        "75 temporary failure, the MTA retries; 65 empty or too big; 64 bad options."
    )
    # Tests may hand over a binary stream instead of sys.stdin.buffer.
    stealth_options = ("stdin",)
    # Run once per message: skip the system checks, start fast, touch nothing else.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def usage_error(message: str) -> NoReturn:
            # An MTA reads sysexits codes: a bad option is EX_USAGE, not argparse's 2.
            if parser.called_from_command_line:
                parser.print_usage(sys.stderr)
                parser.exit(pipe.EX_USAGE, f"{parser.prog}: error: {message}\n")
            raise CommandError(message, returncode=pipe.EX_USAGE)

        parser.error = usage_error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue",
            metavar="QUEUE",
            help="Open new tickets in this queue instead of routing by recipient.",
        )
        parser.add_argument(
            "--trust-headers",
            action="store_true",
            help=(
                "Obey X-Helpline-* control headers in the message. Only when "
                "the MTA strips them from outside mail."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stream = options.get("stdin") or sys.stdin.buffer
        result = pipe.deliver(
            stream,
            queue_name=options["queue"],
            trust_headers=options["trust_headers"],
        )
        if result.status == pipe.EX_OK:
            if options["verbosity"] >= 2:
                self.stderr.write(result.text)
            return
        self.stderr.write(f"error: {result.text}")
        if getattr(self, "_called_from_command_line", False):
            sys.exit(result.status)
        raise CommandError(result.text, returncode=result.status)
