"""``helpline seed_demo``: the demo organisation, created once, safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from helpline.demo import AGENTS, seed_demo
from helpline.management.base import HelplineCommand


class Command(HelplineCommand):
    help = (
        "Create a demo organisation: groups, queues (info-en, info-de, permissions, "
        "photosubmission, the default queue and Junk), agents admin (administrator, "
        "rw on every demo group), alice (rw on info), bruno (rw on info-de) and carla "
        "(ro and note on permissions, through the role permissions-reviewers), and "
        "tickets in English and German. Running it again adds only what is missing. "
        "New demo agents all get one password: --admin-password, or else a generated "
        "one that is printed once, with the logins. Existing agents keep theirs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--admin-password",
            metavar="PASSWORD",
            help=(
                "Password for the demo agents created by this run (admin, alice, "
                "bruno, carla). Default: generate one and print it."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = seed_demo(password=options["admin_password"])
        if not report.changed:
            self.stdout.write(
                "The demo organisation is in place already; nothing changed."
            )
            return
        made = ", ".join(
            f"{n} {kind}{'' if n == 1 else 's'}"
            for kind, n in report.created.items()
            if n
        )
        self.stdout.write(f"Demo organisation created: {made}.")
        if report.new_agents:
            shown = report.password or "(as given with --admin-password)"
            self.stdout.write("Demo agents (login, password):")
            width = max(len(login) for login, *_ in AGENTS)
            for login in report.new_agents:
                self.stdout.write(f"  {login:<{width}}  {shown}")
            if report.password:
                self.stdout.write("The password is shown only this once.")
        if report.kept_agents:
            self.stdout.write(
                f"Kept the existing agents {', '.join(report.kept_agents)} "
                "and their passwords."
            )
