"""``helpline saved-search``: an agent's saved searches (personal or shared)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import saved_searches
from helpline.management.base import HelplineCommand, acting_agent, positive_int


class Command(HelplineCommand):
    help = "List, create, change and delete saved searches, as an agent (--as LOGIN)."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        listing = verbs.add_parser(
            "list", help="Your searches and those shared with you, with counts."
        )
        self.add_as_agent(listing)
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_searches)
        create = verbs.add_parser("create", help="Save a search.")
        self.add_as_agent(create)
        create.add_argument("--name", required=True)
        create.add_argument("--query", required=True)
        create.add_argument(
            "--group", help="Share with this group (needs 'rw' on the group)."
        )
        create.set_defaults(handler=self.create)
        update = verbs.add_parser("update", help="Change your saved search.")
        update.add_argument("id", type=positive_int, metavar="ID")
        self.add_as_agent(update)
        update.add_argument("--name")
        update.add_argument("--query")
        sharing = update.add_mutually_exclusive_group()
        sharing.add_argument("--group", help="Share with this group.")
        sharing.add_argument("--personal", action="store_true", help="Stop sharing it.")
        update.set_defaults(handler=self.update)
        delete = verbs.add_parser("delete", help="Delete your saved search.")
        delete.add_argument("id", type=positive_int, metavar="ID")
        self.add_as_agent(delete)
        delete.set_defaults(handler=self.delete)

    def list_searches(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        data = []
        for row in saved_searches.visible_saved_searches(agent)[:100]:
            count, capped = saved_searches.count_matches(agent, row)
            data.append(
                {
                    "id": row.pk,
                    "name": row.name,
                    "query": row.query,
                    "group": row.group.name if row.group else None,
                    "owner": row.owner.get_username(),
                    "count": count,
                    "count_capped": capped,
                }
            )
        if options["json"]:
            self.emit_json(data)
            return
        self.emit_table(
            ["ID", "NAME", "COUNT", "SHARED WITH", "OWNER", "QUERY"],
            [
                [
                    d["id"],
                    d["name"],
                    f"{d['count']}{'+' if d['count_capped'] else ''}",
                    d["group"] or "-",
                    d["owner"],
                    d["query"],
                ]
                for d in data
            ],
            empty="No saved searches.",
        )

    def create(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        row = saved_searches.create_saved_search(
            agent, name=options["name"], query=options["query"], group=options["group"]
        )
        self.stdout.write(f"Saved search {row.pk} ({row.name}) created.")

    def update(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        group: Any = saved_searches.KEEP
        if options["personal"]:
            group = None
        elif options["group"] is not None:
            group = options["group"]
        row = saved_searches.update_saved_search(
            agent,
            options["id"],
            name=options["name"],
            query=options["query"],
            group=group,
        )
        self.stdout.write(f"Saved search {row.pk} ({row.name}) changed.")

    def delete(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        saved_searches.delete_saved_search(agent, options["id"])
        self.stdout.write(f"Saved search {options['id']} deleted.")
