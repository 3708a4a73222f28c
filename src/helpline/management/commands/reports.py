"""``helpline reports``: the report aggregates (docs/reports.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import reports_aggregate
from helpline.management.base import HelplineCommand


class Command(HelplineCommand):
    help = (
        "Keep the report aggregates: 'update' aggregates the tickets changed since "
        "the last run (the worker does this every five minutes), 'rebuild' empties "
        "the aggregates and aggregates every ticket again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        verbs.add_parser(
            "update", help="Aggregate the tickets changed since the last run."
        ).set_defaults(handler=self.update)
        verbs.add_parser(
            "rebuild", help="Empty the aggregates and aggregate every ticket again."
        ).set_defaults(handler=self.rebuild)

    def update(self, options: dict[str, Any]) -> None:
        count = reports_aggregate.update_reports()
        self.stdout.write(f"{count} tickets aggregated.")

    def rebuild(self, options: dict[str, Any]) -> None:
        count = reports_aggregate.rebuild_reports()
        self.stdout.write(f"Aggregates rebuilt from {count} tickets.")
