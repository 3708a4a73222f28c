"""``helpline grant``: give an agent or a role permissions on a group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import admin
from helpline.management.base import HelplineCommand, UsageError
from helpline.models import Group, Permission, Role

PERMISSION_HELP = (
    "Permissions: ro (read), move_into, create, note, owner, priority, rw (all of "
    "these), override_lock (take over another agent's lock; not implied by rw), "
    "redact (remove content for good; not implied by rw)."
)


@dataclass
class Target:
    """Whom a grant or revoke is about, and on which group."""

    group: Group
    permissions: list[str]
    agent: Any | None
    role: Role | None

    @property
    def who(self) -> str:
        if self.agent is not None:
            return f"agent {self.agent.get_username()}"
        return f"role {self.role}"


def check_permissions(names: list[str]) -> list[str]:
    """The permission names in order, without repeats; unknown ones are a usage error."""
    unknown = [n for n in names if n not in Permission.values]
    if unknown:
        raise UsageError(
            f"Unknown permission {unknown[0]!r}; the permissions are: "
            f"{', '.join(Permission.values)}."
        )
    return list(dict.fromkeys(names))


class Command(HelplineCommand):
    help = (
        "Grant permissions on a group (so on all its queues) to an agent or a role. "
        + PERMISSION_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--agent", metavar="LOGIN", help="An agent's login.")
        who.add_argument("--role", metavar="ROLE", help="A role's name.")
        parser.add_argument("--group", required=True, help="The group's name.")
        parser.add_argument(
            "permissions",
            nargs="+",
            metavar="PERM",
            help=f"One or more of: {', '.join(Permission.values)}.",
        )

    def target(self, options: dict[str, Any]) -> Target:
        permissions = check_permissions(options["permissions"])
        group = admin.get_group(options["group"])
        agent = admin.get_agent(options["agent"]) if options["agent"] else None
        role = admin.get_role(options["role"]) if options["role"] else None
        return Target(group, permissions, agent, role)

    def handle(self, *args: Any, **options: Any) -> None:
        target = self.target(options)
        added = admin.grant(
            target.group, target.permissions, agent=target.agent, role=target.role
        )
        held = [p for p in target.permissions if p not in added]
        if added:
            self.stdout.write(
                f"Granted {', '.join(added)} on group {target.group.name!r} "
                f"to {target.who}."
            )
        if held:
            self.stdout.write(
                f"{target.who.capitalize()} already held {', '.join(held)} "
                f"on group {target.group.name!r}."
            )
