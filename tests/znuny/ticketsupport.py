"""TEMPORARY stand-in for the org phases (branch zorg), for the tickets tests only.

Delete this module (and the ``org`` fixture of test_tickets.py / test_verify.py) once
the org phases are on main: it makes the minimal groups, queues, agents, customers,
states and priorities the ticket phases look up, with their ``ImportedObject`` rows
under the kinds of notes/kinds.md, read by name from the real Znuny database.  The
ticket phases themselves only ever use ``ctx.mapping`` look-ups.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from helpline.importers.znuny.source import Source
from helpline.importers.znuny.state import Mapping
from helpline.models import AgentProfile, Customer, Group, Queue, TicketState

STATE_TYPES = {
    "new": "new",
    "open": "open",
    "closed": "closed",
    "pending reminder": "pending_reminder",
    "pending auto": "pending_auto",
    "merged": "merged",
    "removed": "removed",
}


def stand_in_org(source: Source) -> None:
    """TEMPORARY: the org objects and their mappings, for the ticket phases' tests."""
    mapping = Mapping(source.name)
    groups = {}
    for row in source.rows("SELECT id, name FROM permission_groups"):
        group, _ = Group.objects.get_or_create(name=row["name"])
        groups[row["id"]] = group
        mapping.remember("group", row["id"], group.pk)
    queues = source.all("SELECT id, name, group_id FROM queue ORDER BY name")
    for row in queues:  # parents sort before their children
        queue, _ = Queue.objects.get_or_create(
            name=row["name"], defaults={"group": groups[row["group_id"]]}
        )
        mapping.remember("queue", row["id"], queue.pk)
    user_model = get_user_model()
    for row in source.rows("SELECT id, login, first_name, last_name FROM users"):
        user, _ = user_model.objects.get_or_create(
            username=row["login"],
            defaults={
                "first_name": row["first_name"] or "",
                "last_name": row["last_name"] or "",
                "is_active": row["id"] != 1,
            },
        )
        AgentProfile.objects.get_or_create(user=user)
        mapping.remember("agent", row["id"], user.pk)
    for row in source.rows("SELECT login, email, first_name FROM customer_user"):
        customer, _ = Customer.objects.get_or_create(
            email=row["email"].lower(), defaults={"name": row["first_name"] or ""}
        )
        mapping.remember("customer", row["login"], customer.pk)
    for row in source.rows(
        "SELECT s.id, s.name, t.name AS type FROM ticket_state s "
        "JOIN ticket_state_type t ON t.id = s.type_id"
    ):
        state, _ = TicketState.objects.get_or_create(
            name=row["name"], defaults={"type": STATE_TYPES[row["type"]]}
        )
        mapping.remember("state", row["id"], state.pk)
    for row in source.rows("SELECT id, name FROM ticket_priority"):
        mapping.remember("priority", row["id"], int(str(row["name"])[0]))
