"""What every ``helpline`` command shares: errors, JSON and table output, ``--as``.

Commands subclass ``HelplineCommand``.  Each verb's sub-parser names its handler with
``set_defaults(handler=...)``; ``handle`` calls it with the parsed options.  Expected
errors (the domain's ``HelplineError``, ``CommandError``) become one line on stderr,
``error: <message>``, and an exit status: 1 for a refused or failed request, 2 for a
mistake in the command line.  Called in-process (``call_command``), they are raised as
``CommandError`` with that status as ``returncode``.  Anything else is a bug: run from
the command line, the operator gets one line naming the error and a file holding the
traceback (exit status 70, EX_SOFTWARE), never the traceback itself; ``--traceback``
shows it as Django does.
"""

from __future__ import annotations

import argparse
import getpass
import json
import shlex
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.utils import timezone

from helpline.actions import admin
from helpline.errors import HelplineError

USAGE_ERROR = 2
INTERNAL_ERROR = 70  # sysexits.h EX_SOFTWARE
FAILURE = 1

Handler = Callable[[dict[str, Any]], None]


class UsageError(CommandError):
    """A mistake in the command line (exit status 2, as argparse uses)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=USAGE_ERROR)


def internal_error(exc: BaseException) -> str:
    """One line for the operator; the traceback goes to a file of its own (mode 600:
    it may quote data) and to nobody's terminal."""
    with tempfile.NamedTemporaryFile(
        "w", prefix="helpline-error-", suffix=".txt", delete=False, encoding="utf-8"
    ) as out:
        traceback.print_exception(exc, file=out)
    name = type(exc).__name__
    return (
        f"internal error ({name}); the command stopped there. "
        f"The details are in {out.name}; please report them."
    )


class HelplineCommand(BaseCommand):
    """A management command with verbs, clear errors and ``--json`` output."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except HelplineError as exc:
            error = CommandError(exc.message, returncode=FAILURE)
            error.__cause__ = exc
        except CommandError as exc:
            error = exc
        except Exception as exc:
            if not getattr(self, "_called_from_command_line", False) or options.get(
                "traceback"
            ):
                raise
            self.stderr.write(f"error: {internal_error(exc)}")
            sys.exit(INTERNAL_ERROR)
        if getattr(self, "_called_from_command_line", False) and not options.get(
            "traceback"
        ):
            self.stderr.write(f"error: {error}")
            sys.exit(error.returncode)
        raise error

    def run_from_argv(self, argv: list[str]) -> None:
        self._argv = list(argv)
        super().run_from_argv(argv)

    def read_client(self) -> str:
        """Who reads from the command line, for the read audit: the system account
        and the command as typed (``helpline ticket show 123 --as ann``)."""
        argv: list[str] | None = getattr(self, "_argv", None)
        name = type(self).__module__.rsplit(".", 1)[-1]
        line = (
            shlex.join(["helpline", *argv[1:]])
            if argv
            else f"helpline {name} (in-process)"
        )
        return f"{system_account()}: {line}"

    def handle(self, *args: Any, **options: Any) -> None:
        handler: Handler | None = options.get("handler")
        if handler is None:  # only when a parser was built without a verb
            raise UsageError("Name a verb; see --help.")
        handler(options)

    # --- parser building -------------------------------------------------------------
    @staticmethod
    def verbs(parser: CommandParser, *, dest: str = "verb") -> Any:
        return parser.add_subparsers(
            dest=dest, required=True, metavar="VERB", title="verbs"
        )

    @staticmethod
    def add_json_flag(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print JSON, for scripts.",
        )

    @staticmethod
    def add_as_agent(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--as",
            dest="as_login",
            metavar="LOGIN",
            required=True,
            help="Act as this agent: only what the agent may see or do is allowed.",
        )

    # --- output ---------------------------------------------------------------------
    def emit_json(self, data: Any) -> None:
        self.stdout.write(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        )

    def emit_table(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        empty: str,
    ) -> None:
        text = format_table(headers, rows)
        self.stdout.write(text if text else empty)


def ids_or_all(
    ids: Sequence[int], everything: bool, *, flag: str, matching: Iterable[int]
) -> list[int]:
    """The IDs a verb acts on: those given, or with ``flag`` every one of ``matching``
    (a query, read only then).  Both, or neither, is a usage error."""
    if everything:
        if ids:
            raise UsageError(f"Give IDs or {flag}, not both.")
        return list(matching)
    if not ids:
        raise UsageError(f"Give IDs or {flag}.")
    return list(ids)


def system_account() -> str:
    """The name of the account running the command ('?' where it has none)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "?"


def acting_agent(login: str) -> Any:
    """The agent named by ``--as``; a clear error when there is none."""
    return admin.get_agent(login)


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    return _bounded_int(text, minimum=1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer of at least 0."""
    return _bounded_int(text, minimum=0)


def _bounded_int(text: str, *, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
    return value


def email_address(text: str) -> str:
    """argparse type: an email address."""
    try:
        validate_email(text.strip())
    except ValidationError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an email address") from None
    return text.strip()


def show_time(value: datetime | None) -> str:
    """A timestamp for people: local time to the minute; empty for none."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns under a header line; empty text when there are no rows."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if not cells:
        return ""
    widths = [
        max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)
    ]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in lines
    )
