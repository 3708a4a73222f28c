"""``helpline queue``: create and list queues, and set how long they keep tickets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db.models import Count, Q

from helpline.actions import admin
from helpline.actions.retention import set_queue_retention
from helpline.management.base import (
    HelplineCommand,
    UsageError,
    acting_agent,
    non_negative_int,
    positive_int,
)
from helpline.models import FollowUpOption, Queue, RetentionAction, StateType


class Command(HelplineCommand):
    help = (
        "Add and list queues. A queue belongs to a group (whose grants decide who "
        "works in it) and may have a system address that mail is received at and "
        "sent from."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        add = verbs.add_parser(
            "add",
            help="Create a queue.",
            description="Create a queue; 'Parent::Child' names need the parent first.",
        )
        add.add_argument("name", metavar="NAME")
        add.add_argument("--group", required=True, help="The group it belongs to.")
        add.add_argument(
            "--email",
            default="",
            help="System address: mail to it opens tickets here, replies come from it.",
        )
        add.add_argument(
            "--display-name", default="", help="Display name of the system address."
        )
        add.add_argument(
            "--follow-up",
            choices=FollowUpOption.values,
            default=FollowUpOption.POSSIBLE,
            help=(
                "What a reply to a closed ticket does: reopen it (possible), get the "
                "reject answer (reject) or open a new ticket (new_ticket). "
                "Default: %(default)s."
            ),
        )
        add.add_argument(
            "--follow-up-lock",
            action="store_true",
            help="A follow-up that reopens a ticket locks it to its last owner.",
        )
        add.add_argument(
            "--unlock-timeout",
            type=non_negative_int,
            default=0,
            metavar="MIN",
            help="Unlock locked tickets after MIN minutes; 0 (default) = never.",
        )
        add.add_argument("--comment", default="", help="A note for administrators.")
        add.set_defaults(handler=self.add_queue)

        listing = verbs.add_parser(
            "list", help="List queues with their number of open tickets."
        )
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_queues)

        keep = verbs.add_parser(
            "retention",
            help="Show or set how long a queue keeps its tickets.",
            description=(
                "Closed tickets are deleted or anonymised DAYS after they were "
                "closed; in a junk queue every ticket DAYS after its last change. "
                "Setting it needs --as LOGIN holding the handle_personal_data right "
                "('helpline privacy retention --preview' shows what the next run "
                "removes)."
            ),
        )
        keep.add_argument("name", metavar="NAME")
        days = keep.add_mutually_exclusive_group()
        days.add_argument(
            "--days", type=positive_int, help="Remove tickets this many days after."
        )
        days.add_argument(
            "--keep", action="store_true", help="Keep the tickets for ever."
        )
        keep.add_argument(
            "--action",
            choices=RetentionAction.values,
            help="Delete the tickets, or anonymise them (the rows stay for reports).",
        )
        junk = keep.add_mutually_exclusive_group()
        junk.add_argument(
            "--junk",
            action="store_true",
            default=None,
            help="The queue holds junk: every ticket counts from its last change.",
        )
        junk.add_argument("--no-junk", dest="junk", action="store_false")
        keep.add_argument(
            "--as",
            dest="as_login",
            metavar="LOGIN",
            help="The agent who sets it (needs handle_personal_data).",
        )
        keep.set_defaults(handler=self.retention)

    def add_queue(self, options: dict[str, Any]) -> None:
        if options["display_name"] and not options["email"]:
            raise UsageError("--display-name needs --email.")
        queue = admin.create_queue(
            options["name"],
            group=admin.get_group(options["group"]),
            follow_up=options["follow_up"],
            follow_up_lock=options["follow_up_lock"],
            unlock_timeout=options["unlock_timeout"],
            comment=options["comment"],
            email=options["email"],
            display_name=options["display_name"],
        )
        sender = queue.system_address
        address = f" with address {sender.email}" if sender else ""
        self.stdout.write(
            f"Queue {queue.name!r} created in group {queue.group.name!r}{address}."
        )

    def retention(self, options: dict[str, Any]) -> None:
        queue = admin.get_queue(options["name"])
        change = (
            options["days"] is not None
            or options["keep"]
            or options["action"] is not None
            or options["junk"] is not None
        )
        if change:
            if not options["as_login"]:
                raise UsageError("Setting the retention needs --as LOGIN.")
            days = queue.retention_days
            if options["keep"]:
                days = None
            elif options["days"] is not None:
                days = options["days"]
            queue = set_queue_retention(
                acting_agent(options["as_login"]),
                queue,
                days=days,
                action=options["action"] or queue.retention_action,
                junk=queue.junk if options["junk"] is None else options["junk"],
            )
        done = {"delete": "deleted", "anonymise": "anonymised"}[queue.retention_action]
        kept = (
            f"{done} {queue.retention_days} days after "
            + ("the last change (junk)" if queue.junk else "closing")
            if queue.retention_days is not None
            else "kept for ever"
        )
        self.stdout.write(f"Queue {queue.name!r}: tickets {kept}.")

    def list_queues(self, options: dict[str, Any]) -> None:
        # One query: the open-ticket count is an aggregate, not a query per queue.
        queues = (
            Queue.objects.select_related("group", "system_address")
            .annotate(
                open_tickets=Count(
                    "tickets", filter=Q(tickets__state_type__in=StateType.open_types())
                )
            )
            .order_by("name")
        )
        rows: list[dict[str, Any]] = [
            {
                "name": q.name,
                "group": q.group.name,
                "system_address": q.system_address.email if q.system_address else None,
                "follow_up": q.follow_up,
                "open_tickets": q.open_tickets,
                "valid": q.valid,
            }
            for q in queues
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["NAME", "GROUP", "SYSTEM ADDRESS", "FOLLOW-UP", "OPEN"],
            [
                (
                    r["name"] + ("" if r["valid"] else " (invalid)"),
                    r["group"],
                    r["system_address"] or "-",
                    r["follow_up"],
                    r["open_tickets"],
                )
                for r in rows
            ],
            empty="No queues.",
        )
