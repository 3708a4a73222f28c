"""``helpline revoke``: take permissions on a group away from an agent or a role."""

from __future__ import annotations

from typing import Any

from helpline.actions import admin
from helpline.actions.withdrawal import Withdrawn
from helpline.management.commands.grant import PERMISSION_HELP
from helpline.management.commands.grant import Command as GrantCommand


class Command(GrantCommand):
    help = (
        "Revoke permissions on a group from an agent or a role (the same arguments "
        "as 'helpline grant'). A permission held through a role stays until it is "
        "revoked from the role or the agent leaves the role. " + PERMISSION_HELP
    )

    def handle(self, *args: Any, **options: Any) -> None:
        target = self.target(options)
        result = admin.revoke(
            target.group, target.permissions, agent=target.agent, role=target.role
        )
        perms = ", ".join(target.permissions)
        removed = result.removed
        if removed:
            self.stdout.write(
                f"Revoked {perms} on group {target.group.name!r} from {target.who} "
                f"({removed} grant{'s' if removed != 1 else ''} removed)."
            )
            write_withdrawn(self.stdout, result.withdrawn)
        else:
            self.stdout.write(
                f"{target.who.capitalize()} held none of {perms} "
                f"on group {target.group.name!r}; nothing changed."
            )


def write_withdrawn(out: Any, withdrawn: list[Withdrawn]) -> None:
    """One line per ticket and agent that lost its lock, ownership, responsibility
    or watching with its access (``withdrawal.withdraw_lost_access``)."""
    if not withdrawn:
        return
    n = len({item.ticket_id for item in withdrawn})
    out.write(f"Taken back on {n} ticket{'s' if n != 1 else ''} no longer readable:")
    for item in withdrawn:
        out.write(f"  {item}")
