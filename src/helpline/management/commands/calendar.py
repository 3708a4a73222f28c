"""``helpline calendar``: business calendars for service levels."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import service_levels
from helpline.actions.escalations import business_calendar
from helpline.management.base import HelplineCommand, UsageError, non_negative_int
from helpline.models import Calendar
from helpline.sla.calendar import format_hours


class Command(HelplineCommand):
    help = (
        "Set and list business calendars: working hours per weekday in a time zone, "
        "less public holidays of a country or region and dates you add. Service "
        "levels count their times in a calendar's working time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        put = verbs.add_parser(
            "set",
            help="Create a calendar or change it.",
            description=(
                "Create the calendar NAME or change what is given. Open tickets "
                "under it are recomputed."
            ),
        )
        put.add_argument("name", metavar="NAME")
        put.add_argument(
            "--hours",
            help="Working hours, e.g. 'mon-fri 09:00-17:00; sat 10:00-13:00'.",
        )
        put.add_argument(
            "--time-zone", help="An IANA time zone, e.g. Europe/Berlin (default UTC)."
        )
        put.add_argument(
            "--country", help="ISO country code for public holidays, e.g. DE; '' none."
        )
        put.add_argument(
            "--region", help="Subdivision for regional holidays, e.g. BY; '' none."
        )
        put.add_argument(
            "--holiday",
            action="append",
            metavar="DATE",
            help="A further day off (YYYY-MM-DD); repeat it. Replaces the list.",
        )
        put.add_argument(
            "--no-holidays",
            action="store_true",
            help="Remove the days off added with --holiday.",
        )
        put.set_defaults(handler=self.set_calendar)

        listing = verbs.add_parser("list", help="List the calendars.")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_calendars)

        delete = verbs.add_parser("delete", help="Delete a calendar no level uses.")
        delete.add_argument("name", metavar="NAME")
        delete.set_defaults(handler=self.delete)

        due = verbs.add_parser(
            "add",
            help="Show the moment MINUTES business minutes after a moment.",
            description="Answer 'when is N business minutes after FROM' in a calendar.",
        )
        due.add_argument("name", metavar="NAME")
        due.add_argument("--from", dest="start", required=True, metavar="ISO")
        due.add_argument(
            "--minutes", type=non_negative_int, required=True, metavar="MIN"
        )
        due.set_defaults(handler=self.add_minutes)

    def set_calendar(self, options: dict[str, Any]) -> None:
        if options["holiday"] and options["no_holidays"]:
            raise UsageError("--holiday and --no-holidays exclude each other.")
        extra = [] if options["no_holidays"] else options["holiday"]
        calendar = service_levels.save_calendar(
            None,
            options["name"],
            time_zone_name=options["time_zone"],
            hours=options["hours"],
            country=options["country"],
            subdivision=options["region"],
            extra_holidays=extra,
        )
        self.stdout.write(f"Calendar {calendar.name!r}: {_describe(calendar)}.")

    def list_calendars(self, options: dict[str, Any]) -> None:
        rows = [
            {
                "name": c.name,
                "time_zone": c.time_zone,
                "hours": format_hours(c.hours),
                "country": c.country,
                "region": c.subdivision,
                "extra_holidays": c.extra_holidays,
            }
            for c in Calendar.objects.order_by("name")
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["NAME", "TIME ZONE", "HOURS", "HOLIDAYS"],
            [
                (
                    r["name"],
                    r["time_zone"],
                    r["hours"],
                    "-".join(filter(None, [r["country"], r["region"]])) or "-",
                )
                for r in rows
            ],
            empty="No calendars.",
        )

    def delete(self, options: dict[str, Any]) -> None:
        service_levels.delete_calendar(None, options["name"])
        self.stdout.write(f"Calendar {options['name']!r} deleted.")

    def add_minutes(self, options: dict[str, Any]) -> None:
        try:
            start = datetime.fromisoformat(options["start"])
        except ValueError:
            raise UsageError(f"{options['start']!r} is not an ISO time.") from None
        if start.tzinfo is None:
            raise UsageError("--from needs a time zone, e.g. 2026-03-27T16:00+01:00.")
        calendar = service_levels.get_calendar(options["name"])
        business = business_calendar(calendar)
        due = business.add(start, timedelta(minutes=options["minutes"]))
        self.stdout.write(due.astimezone(business.zone).isoformat())


def _describe(calendar: Calendar) -> str:
    holidays = "-".join(filter(None, [calendar.country, calendar.subdivision]))
    extra = len(calendar.extra_holidays)
    return (
        f"{format_hours(calendar.hours)} in {calendar.time_zone}"
        + (f", holidays of {holidays}" if holidays else "")
        + (f", {extra} added day(s) off" if extra else "")
    )
