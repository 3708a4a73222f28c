"""``helpline audit reads``: search and export the read audit (who read what, when).

With ``--as LOGIN`` the search runs as that agent, who must hold the ``audit_reads``
right (``helpline right give audit_reads LOGIN``; being a superuser is not enough).
Without ``--as`` it runs as the operator at the server's console, who can read the
database anyway: the administration log then names the system account.  Either way
every search and export is written to the administration log with its filters
(docs/data-protection.md).
"""

from __future__ import annotations

import csv
import json
from typing import Any

from django.core.management.base import CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from helpline.actions.read_audit_search import (
    COLUMNS,
    ReadFilters,
    check_filters,
    event_row,
    export_reads,
    search_reads,
)
from helpline.errors import InvalidInput
from helpline.management.base import (
    HelplineCommand,
    UsageError,
    acting_agent,
    positive_int,
    system_account,
)
from helpline.models import ReadChannel, ReadKind

TABLE = ["WHEN", "AGENT", "TICKET", "KIND", "ARTICLE", "FILE", "CHANNEL", "CLIENT"]


class Command(HelplineCommand):
    help = (
        "Search and export the read audit: who read which ticket, article, file or "
        "raw mail, when and from where (needs the audit_reads right with --as)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        reads = verbs.add_parser(
            "reads",
            help="The reads that match, newest first.",
            description=(
                "The reads that match every filter given, newest first. Dates are "
                "days (2026-03-01: --since from its start, --until to its end) or "
                "moments (2026-03-01T14:30). Table: the newest --limit; csv and json "
                "stream them (--all: every match)."
            ),
        )
        reads.add_argument(
            "--as",
            dest="as_login",
            metavar="LOGIN",
            help="Search as this agent (who must hold audit_reads); default: the "
            "operator at the console.",
        )
        reads.add_argument("--agent", metavar="LOGIN", help="Reads by this agent.")
        reads.add_argument("--ticket", metavar="NUMBER", help="Reads of this ticket.")
        reads.add_argument(
            "--customer", metavar="EMAIL", help="Reads of this customer's tickets."
        )
        reads.add_argument("--since", metavar="DATE", help="From this day or moment.")
        reads.add_argument("--until", metavar="DATE", help="To this day or moment.")
        reads.add_argument("--kind", choices=ReadKind.values, help="What was read.")
        reads.add_argument(
            "--channel", choices=ReadChannel.values, help="Through which entry point."
        )
        reads.add_argument(
            "--format", choices=["table", "csv", "json"], default="table"
        )
        amount = reads.add_mutually_exclusive_group()
        amount.add_argument(
            "--limit",
            type=positive_int,
            default=100,
            metavar="N",
            help="At most N events (default %(default)s).",
        )
        amount.add_argument(
            "--all", action="store_true", help="Every match (csv and json only)."
        )
        reads.set_defaults(handler=self.reads)

    def reads(self, options: dict[str, Any]) -> None:
        login = options["as_login"]
        actor = acting_agent(login) if login else None
        operator = "" if login else system_account()
        try:
            filters = check_filters(
                **{
                    name: options[name]
                    for name in (
                        "agent",
                        "ticket",
                        "customer",
                        "since",
                        "until",
                        "kind",
                        "channel",
                    )
                }
            )
        except InvalidInput as exc:
            raise UsageError(exc.message) from exc
        if options["format"] == "table":
            if options["all"]:
                raise UsageError("--all needs --format csv or json.")
            self._table(actor, filters, options["limit"], operator)
            return
        events = export_reads(
            actor,
            filters,
            limit=None if options["all"] else options["limit"],
            operator=operator,
        )
        if options["format"] == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(COLUMNS)
            for event in events:
                row = event_row(event)
                row["at"] = event.at.isoformat()
                writer.writerow([row[name] for name in COLUMNS])
            return
        # A JSON array written as it is read: memory does not grow with the audit.
        self.stdout.write("[", ending="")
        for i, event in enumerate(events):
            text = json.dumps(event_row(event), cls=DjangoJSONEncoder)
            self.stdout.write(("," if i else "") + "\n  " + text, ending="")
        self.stdout.write("\n]")

    def _table(
        self, actor: Any, filters: ReadFilters, limit: int, operator: str
    ) -> None:
        page = search_reads(actor, filters, limit=limit, operator=operator)
        self.emit_table(
            TABLE,
            [
                (
                    f"{timezone.localtime(e.at):%Y-%m-%d %H:%M:%S}",
                    e.agent_name or "-",
                    e.ticket_number or "-",
                    e.kind,
                    e.article_id,
                    e.attachment_id,
                    e.channel,
                    e.client,
                )
                for e in page.events
            ],
            empty="No reads match.",
        )
        if page.next_cursor:
            self.stdout.write(
                f"(the newest {limit}; more match: --format csv --all, or narrow "
                "the search)"
            )
