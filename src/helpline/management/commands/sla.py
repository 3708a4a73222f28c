"""``helpline sla``: service levels, the queues and tickets they apply to."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import admin, escalations, service_levels
from helpline.actions.access import access_ticket
from helpline.actions.service_levels import UNSET, LevelChange
from helpline.management.base import HelplineCommand, acting_agent
from helpline.models import Queue, ServiceLevel


def minutes_or_none(text: str) -> int:
    """argparse type: business minutes, or 'none' for no such target."""
    if text.strip().lower() == "none":
        return UNSET
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of minutes or 'none'"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: minutes cannot be negative")
    return value


class Command(HelplineCommand):
    help = (
        "Set and list service levels: first-response, update and solution times in "
        "business minutes of a calendar ('helpline calendar'), for a queue's tickets "
        "or one ticket. Agents are warned before and told at escalation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        put = verbs.add_parser(
            "set",
            help="Create a service level or change it.",
            description=(
                "Create the service level NAME or change what is given; times are "
                "business minutes, 'none' for no such target. The open tickets it "
                "applies to are recomputed."
            ),
        )
        put.add_argument("name", metavar="NAME")
        put.add_argument("--calendar", help="The calendar the times count in.")
        for flag, what in (
            ("--first-response", "until the first answer to the customer"),
            ("--update", "until an agent answers a customer's follow-up"),
            ("--solution", "until the ticket is closed"),
        ):
            put.add_argument(flag, type=minutes_or_none, metavar="MIN", help=what)
        put.add_argument(
            "--warning",
            type=minutes_or_none,
            metavar="MIN",
            help="Warn agents this many business minutes before (default 30).",
        )
        put.set_defaults(handler=self.set_level)

        listing = verbs.add_parser("list", help="List service levels and queues.")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_levels)

        delete = verbs.add_parser("delete", help="Delete a service level not in use.")
        delete.add_argument("name", metavar="NAME")
        delete.set_defaults(handler=self.delete)

        queue = verbs.add_parser(
            "queue", help="Set the service level of a queue's tickets."
        )
        queue.add_argument("queue", metavar="QUEUE")
        which = queue.add_mutually_exclusive_group(required=True)
        which.add_argument("--level", metavar="NAME")
        which.add_argument("--none", action="store_true", help="No service level.")
        queue.set_defaults(handler=self.set_queue)

        ticket = verbs.add_parser(
            "ticket",
            help="Give one ticket its own service level (needs --as LOGIN).",
        )
        ticket.add_argument("number", metavar="NUMBER")
        which = ticket.add_mutually_exclusive_group(required=True)
        which.add_argument("--level", metavar="NAME")
        which.add_argument(
            "--queue-level", action="store_true", help="Follow its queue's again."
        )
        ticket.add_argument("--as", dest="as_login", required=True, metavar="LOGIN")
        ticket.set_defaults(handler=self.set_ticket)

        again = verbs.add_parser(
            "recompute",
            help="Recompute the escalation times of open tickets.",
            description=(
                "Recompute the escalation times of the open tickets of a queue (or "
                "all queues with a service level); they are kept up to date after "
                "every change, this repairs after a failure."
            ),
        )
        again.add_argument("--queue", metavar="QUEUE")
        again.set_defaults(handler=self.recompute)

    def set_level(self, options: dict[str, Any]) -> None:
        level = service_levels.save_service_level(
            None,
            options["name"],
            LevelChange(
                calendar=options["calendar"],
                first_response=options["first_response"],
                update=options["update"],
                solution=options["solution"],
                warning=options["warning"],
            ),
        )
        self.stdout.write(f"Service level {level.name!r}: {_describe(level)}.")

    def list_levels(self, options: dict[str, Any]) -> None:
        levels = ServiceLevel.objects.select_related("calendar").order_by("name")
        queues: dict[int, list[str]] = {}
        for name, level_id in Queue.objects.filter(
            service_level__isnull=False
        ).values_list("name", "service_level_id"):
            queues.setdefault(level_id, []).append(name)
        rows: list[dict[str, Any]] = [
            {
                "name": level.name,
                "calendar": level.calendar.name,
                "first_response_minutes": level.first_response_minutes,
                "update_minutes": level.update_minutes,
                "solution_minutes": level.solution_minutes,
                "warning_minutes": level.warning_minutes,
                "queues": sorted(queues.get(level.pk, [])),
            }
            for level in levels
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["NAME", "CALENDAR", "FIRST", "UPDATE", "SOLUTION", "WARN", "QUEUES"],
            [
                (
                    r["name"],
                    r["calendar"],
                    _or_dash(r["first_response_minutes"]),
                    _or_dash(r["update_minutes"]),
                    _or_dash(r["solution_minutes"]),
                    r["warning_minutes"],
                    ", ".join(r["queues"]) or "-",
                )
                for r in rows
            ],
            empty="No service levels.",
        )

    def delete(self, options: dict[str, Any]) -> None:
        service_levels.delete_service_level(None, options["name"])
        self.stdout.write(f"Service level {options['name']!r} deleted.")

    def set_queue(self, options: dict[str, Any]) -> None:
        queue = admin.get_queue(options["queue"])
        level = (
            None
            if options["none"]
            else service_levels.get_service_level(options["level"])
        )
        service_levels.set_queue_service_level(None, queue, level)
        self.stdout.write(
            f"Queue {queue.name!r}: "
            + (f"service level {level.name!r}." if level else "no service level.")
        )

    def set_ticket(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        ticket = access_ticket(agent, number=options["number"])
        level = (
            None
            if options["queue_level"]
            else service_levels.get_service_level(options["level"])
        )
        service_levels.set_ticket_service_level(agent, ticket.pk, level)
        ticket.refresh_from_db()
        due = ticket.escalation_at.isoformat() if ticket.escalation_at else "none"
        self.stdout.write(f"Ticket {ticket.number}: escalation time {due}.")

    def recompute(self, options: dict[str, Any]) -> None:
        if options["queue"]:
            queue_ids = [admin.get_queue(options["queue"]).pk]
        else:
            queue_ids = list(
                Queue.objects.filter(service_level__isnull=False).values_list(
                    "pk", flat=True
                )
            )
        done = escalations.recompute_queues(queue_ids)
        self.stdout.write(f"{done} ticket(s) recomputed.")


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _describe(level: ServiceLevel) -> str:
    return (
        f"first response {_or_dash(level.first_response_minutes)}, "
        f"update {_or_dash(level.update_minutes)}, "
        f"solution {_or_dash(level.solution_minutes)} business minutes of "
        f"{level.calendar.name!r}; warning {level.warning_minutes} before"
    )
