"""``helpline right``: give, withdraw and list the rights no superuser holds by
default (``audit_reads``, ``handle_personal_data``; docs/data-protection.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import admin, privacy_rights
from helpline.management.base import HelplineCommand, UsageError


class Command(HelplineCommand):
    help = (
        "Give, withdraw or list the rights of data protection: audit_reads (search "
        "and export the read audit) and handle_personal_data (access and erasure "
        "requests, retention, legal holds). Superusers do not hold them by default."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["give", "withdraw", "list"])
        parser.add_argument("right", choices=list(privacy_rights.RIGHTS))
        parser.add_argument("login", nargs="?", help="The agent (give, withdraw).")

    def handle(self, *args: Any, **options: Any) -> None:
        action, right, login = options["action"], options["right"], options["login"]
        if action == "list":
            for agent in privacy_rights.holders(right):
                self.stdout.write(agent.get_username())
            return
        if not login:
            raise UsageError(f"'helpline right {action}' needs the agent's login.")
        agent = admin.get_agent(login)
        if action == "give":
            privacy_rights.give(agent, right)
            self.stdout.write(f"Gave {right} to {login}.")
        else:
            privacy_rights.withdraw(agent, right)
            self.stdout.write(f"Withdrew {right} from {login}.")
