"""``helpline agent``: create and list agents (the people who answer tickets)."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser
from django.db.models import Prefetch

from helpline.actions import admin, twofactor
from helpline.actions.sessions import log_out_everywhere
from helpline.management.base import HelplineCommand, UsageError
from helpline.management.commands.revoke import write_withdrawn
from helpline.models import Role


class Command(HelplineCommand):
    help = (
        "Add and list agents. An agent sees and works on tickets only through grants "
        "(see 'helpline grant'), administrators included."
    )
    # Tests and scripts may hand over the password stream instead of sys.stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        add = verbs.add_parser(
            "add",
            help="Create an agent.",
            description=(
                "Create an agent. Without --password-stdin the agent has no usable "
                "password until one is set ('helpline changepassword LOGIN')."
            ),
        )
        add.add_argument("login", metavar="LOGIN")
        add.add_argument("--email", required=True)
        add.add_argument("--first-name", default="")
        add.add_argument("--last-name", default="")
        add.add_argument(
            "--admin",
            action="store_true",
            help=(
                "May use the administration screens. Gives no access to tickets: "
                "grant that with 'helpline grant'."
            ),
        )
        add.add_argument(
            "--password-stdin",
            action="store_true",
            help=(
                "Read the password from the first line of standard input (asked for "
                "without echo on a terminal)."
            ),
        )
        add.set_defaults(handler=self.add_agent)

        for verb, text in (
            (
                "deactivate",
                "Deactivate an agent: it can no longer log in or see any "
                "ticket; its locks, ownership, responsibility and watching are "
                "withdrawn, and the tickets are listed.",
            ),
            (
                "activate",
                "Activate a deactivated agent again (its grants apply again; "
                "what was withdrawn is not given back).",
            ),
        ):
            switch = verbs.add_parser(
                verb, help=text.split(":")[0] + ".", description=text
            )
            switch.add_argument("login", metavar="LOGIN")
            switch.set_defaults(handler=self.switch_agent, active=verb == "activate")

        logout = verbs.add_parser(
            "logout-all",
            help="End every session of an agent and revoke its API tokens.",
            description=(
                "End every session of an agent and revoke all its API tokens, at "
                "once (written to the administration log)."
            ),
        )
        logout.add_argument("login", metavar="LOGIN")
        logout.set_defaults(handler=self.logout_all)
        reset = verbs.add_parser(
            "2fa-reset",
            help="Reset an agent's two-factor authentication (a lost device).",
            description=(
                "Remove an agent's authenticator app and recovery codes, when its "
                "device is lost. Its next login takes the password alone and, if a "
                "two-factor policy applies to it, sends it to set up a new one. "
                "Written to the administration log."
            ),
        )
        reset.add_argument("login", metavar="LOGIN")
        reset.set_defaults(handler=self.reset_two_factor)

        listing = verbs.add_parser("list", help="List the agents.")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_agents)

    def add_agent(self, options: dict[str, Any]) -> None:
        password = None
        if options["password_stdin"]:
            password = self._read_password(options.get("stdin") or sys.stdin)
        agent = admin.create_agent(
            options["login"],
            email=options["email"],
            password=password,
            first_name=options["first_name"],
            last_name=options["last_name"],
            is_admin=options["admin"],
        )
        note = "" if password else " It has no usable password yet."
        self.stdout.write(f"Agent {agent.get_username()!r} created.{note}")

    def switch_agent(self, options: dict[str, Any]) -> None:
        agent = admin.get_agent(options["login"])
        withdrawn = admin.set_agent_active(None, agent, active=options["active"])
        state = "active" if options["active"] else "deactivated"
        self.stdout.write(f"Agent {agent.get_username()!r} is {state}.")
        if not options["active"]:
            write_withdrawn(self.stdout, withdrawn)

    def logout_all(self, options: dict[str, Any]) -> None:
        agent = admin.get_agent(options["login"])
        ended = log_out_everywhere(None, agent)
        self.stdout.write(
            f"Agent {agent.get_username()!r}: {ended.sessions} session(s) ended, "
            f"{ended.tokens} API token(s) revoked."
        )

    def reset_two_factor(self, options: dict[str, Any]) -> None:
        agent = admin.get_agent(options["login"])
        had = twofactor.reset_two_factor(None, agent)
        what = "reset" if had else "was not set up; nothing to reset"
        self.stdout.write(
            f"Two-factor authentication of {agent.get_username()!r} {what}."
        )

    @staticmethod
    def _read_password(stream: Any) -> str:
        if stream.isatty():  # typed by a person: do not echo it
            password = getpass.getpass("Password: ", stream=sys.stderr)
        else:
            password = stream.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input held no password.")
        return password

    def list_agents(self, options: dict[str, Any]) -> None:
        agents = (
            get_user_model()
            .objects.order_by("username")
            .prefetch_related(
                Prefetch("helpline_roles", queryset=Role.objects.order_by("name"))
            )
        )
        rows: list[dict[str, Any]] = [
            {
                "login": a.get_username(),
                "email": a.email,
                "name": a.get_full_name(),
                "admin": a.is_superuser,
                "active": a.is_active,
                "roles": [role.name for role in a.helpline_roles.all()],
            }
            for a in agents
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["LOGIN", "EMAIL", "ADMIN", "ACTIVE", "ROLES"],
            [
                (
                    r["login"],
                    r["email"],
                    "yes" if r["admin"] else "no",
                    "yes" if r["active"] else "no",
                    ", ".join(r["roles"]),
                )
                for r in rows
            ],
            empty="No agents.",
        )
