"""``helpline auto-response``: give queues the default auto-responses in a language."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from helpline.actions import admin
from helpline.management.base import HelplineCommand
from helpline.responses.defaults import add_default_auto_responses, default_texts


class Command(HelplineCommand):
    help = (
        "Default auto-responses: the four kinds (new ticket, follow-up, rejected "
        "follow-up, new ticket for a closed one) written in a language, for queues "
        "that have none of a kind yet."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        codes = [code for code, _name in settings.LANGUAGES]
        defaults = verbs.add_parser(
            "defaults",
            help="Give queues the default auto-responses in a language.",
            description=(
                "A kind a queue already answers with is left alone; the texts are "
                "shared by the queues and can be changed in the administration."
            ),
        )
        defaults.add_argument("queues", nargs="+", metavar="QUEUE")
        defaults.add_argument("--language", required=True, choices=codes)
        defaults.add_argument(
            "--show", action="store_true", help="Print the texts, change nothing."
        )
        defaults.set_defaults(handler=self.defaults)

    def defaults(self, options: dict[str, Any]) -> None:
        queues = [admin.get_queue(name) for name in options["queues"]]
        if options["show"]:
            for text in default_texts(options["language"]):
                self.stdout.write(f"== {text.name}\n{text.subject}\n\n{text.text}")
            return
        given = add_default_auto_responses(
            None, queues=queues, language=options["language"]
        )
        if not given:
            self.stdout.write("Every queue named has an auto-response of each kind.")
        for response in given:
            self.stdout.write(f"{response.name}: {response.subject}")
