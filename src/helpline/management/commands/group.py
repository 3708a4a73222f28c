"""``helpline group``: the groups that queues belong to and permissions are granted on."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db.models import Count

from helpline.actions import admin
from helpline.management.base import HelplineCommand
from helpline.models import Group


class Command(HelplineCommand):
    help = (
        "Add and list groups. Every queue belongs to one group; agents and roles are "
        "granted permissions on groups (see 'helpline grant')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        add = verbs.add_parser("add", help="Create a group.")
        add.add_argument("name", metavar="NAME")
        add.add_argument("--comment", default="", help="A note for administrators.")
        add.set_defaults(handler=self.add_group)

        listing = verbs.add_parser("list", help="List the groups.")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_groups)

    def add_group(self, options: dict[str, Any]) -> None:
        group = admin.create_group(options["name"], comment=options["comment"])
        self.stdout.write(f"Group {group.name!r} created.")

    def list_groups(self, options: dict[str, Any]) -> None:
        groups = Group.objects.annotate(queue_count=Count("queues")).order_by("name")
        rows: list[dict[str, Any]] = [
            {
                "name": g.name,
                "valid": g.valid,
                "queues": g.queue_count,
                "comment": g.comment,
            }
            for g in groups
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["NAME", "VALID", "QUEUES", "COMMENT"],
            [
                (r["name"], "yes" if r["valid"] else "no", r["queues"], r["comment"])
                for r in rows
            ],
            empty="No groups.",
        )
