"""``helpline out-of-office``: set, show or clear an agent's out-of-office."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import out_of_office
from helpline.management.base import HelplineCommand, acting_agent, show_time


def _when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time like 2026-12-24T09:00"
        ) from exc


class Command(HelplineCommand):
    help = "Set, show or clear an agent's own out-of-office (--as LOGIN)."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        setting = verbs.add_parser(
            "set",
            help="Set the period and the substitute.",
            description=(
                "While the period runs, notifications also go to the substitute and "
                "tickets assigned to you by others go to the substitute, for tickets "
                "the substitute may read (and own)."
            ),
        )
        self.add_as_agent(setting)
        setting.add_argument("--start", type=_when, required=True, metavar="TIME")
        setting.add_argument("--end", type=_when, required=True, metavar="TIME")
        setting.add_argument(
            "--time-zone",
            default="",
            help="The zone of --start and --end (default the site's), e.g. Europe/Berlin.",
        )
        setting.add_argument("--substitute", metavar="LOGIN")
        setting.set_defaults(handler=self.set_period)
        show = verbs.add_parser("show", help="Show the out-of-office.")
        self.add_as_agent(show)
        self.add_json_flag(show)
        show.set_defaults(handler=self.show)
        clear = verbs.add_parser("clear", help="Remove the out-of-office.")
        self.add_as_agent(clear)
        clear.set_defaults(handler=self.clear)

    def set_period(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        row = out_of_office.set_out_of_office(
            agent,
            start=options["start"],
            end=options["end"],
            time_zone=options["time_zone"] or None,
            substitute=options["substitute"],
        )
        self._print(row)

    def show(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        row = out_of_office.get_out_of_office(agent)
        if options["json"]:
            self.emit_json(
                None
                if row is None
                else {
                    "start": row.start,
                    "end": row.end,
                    "time_zone": row.time_zone,
                    "substitute": row.substitute.get_username()
                    if row.substitute
                    else None,
                }
            )
            return
        if row is None:
            self.stdout.write("No out-of-office set.")
            return
        self._print(row)

    def _print(self, row: Any) -> None:
        who = row.substitute.get_username() if row.substitute else "nobody"
        self.stdout.write(
            f"Out of office {show_time(row.start)} to {show_time(row.end)} "
            f"(site time; entered in {row.time_zone}); substitute: {who}."
        )

    def clear(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        if out_of_office.clear_out_of_office(agent):
            self.stdout.write("Out-of-office removed.")
        else:
            self.stdout.write("No out-of-office was set.")
