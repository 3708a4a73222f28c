"""``helpline mentions``: the tickets an agent was @mentioned on; mark one or all
as done (dismiss)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from helpline.actions import mentions
from helpline.actions.access import access_ticket
from helpline.management.base import HelplineCommand, acting_agent, show_time
from helpline.models import Mention


class Command(HelplineCommand):
    help = "List or dismiss an agent's mentions (--as LOGIN)."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        listing = verbs.add_parser("list", help="Tickets you were @mentioned on.")
        self.add_as_agent(listing)
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_mentions)
        dismiss = verbs.add_parser(
            "dismiss", help="Mark a mention as done (--all: every one)."
        )
        dismiss.add_argument("number", metavar="NUMBER", nargs="?")
        dismiss.add_argument(
            "--all", action="store_true", help="Mark all your mentions as done."
        )
        self.add_as_agent(dismiss)
        dismiss.set_defaults(handler=self.dismiss)

    def list_mentions(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        tickets = {t.pk: t for t in mentions.mentioned_tickets(agent)[:500]}
        rows = (
            Mention.objects.filter(agent=agent, ticket_id__in=list(tickets))
            .select_related("by")
            .order_by("-created")
        )
        data: list[dict[str, Any]] = [
            {
                "number": tickets[m.ticket_id].number,
                "title": tickets[m.ticket_id].title,
                "mentioned_by": m.by.get_username() if m.by else None,
                "mentioned_at": m.created,
            }
            for m in rows
        ]
        if options["json"]:
            self.emit_json(data)
            return
        self.emit_table(
            ["NUMBER", "BY", "WHEN", "TITLE"],
            [
                [
                    d["number"],
                    d["mentioned_by"] or "-",
                    show_time(d["mentioned_at"]),
                    d["title"],
                ]
                for d in data
            ],
            empty="No mentions.",
        )

    def dismiss(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        if options["all"] == bool(options["number"]):
            raise CommandError("Give a ticket NUMBER or --all, not both.")
        if options["all"]:
            count = mentions.dismiss_all_mentions(agent)
            self.stdout.write(f"{count} mention(s) marked as done.")
            return
        ticket = access_ticket(agent, number=options["number"])
        if mentions.dismiss_mention(agent, ticket.pk):
            self.stdout.write(f"Mention of {ticket.number} dismissed.")
        else:
            self.stdout.write(f"No mention of {ticket.number} to dismiss.")
