"""``helpline api-schema``: print the REST API's OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from helpline.api.openapi import document


class Command(BaseCommand):
    help = (
        "Print the OpenAPI 3 document of the REST API (/api/v1/openapi.json). "
        "docs/openapi.json is its output: 'helpline api-schema -o docs/openapi.json'."
    )

    # Needs neither the database nor the site's URL map.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-o",
            "--output",
            metavar="FILE",
            help="Write to FILE instead of standard output.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = document()
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
