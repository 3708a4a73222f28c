"""The organisation: agents, groups, roles, permissions, queues, addresses, texts,
customers, states and priorities (phases run before the tickets).

Each phase is idempotent: a Znuny row is found in Helpline by the mapping of an
earlier run, else by its name, and only what differs is written (``org_sync``).
Kinds and what they map to: notes in ``org_people`` (agents, passwords),
``org_permissions`` (the permission table), ``org_queues``, ``org_texts``
(placeholders) and ``org_customers`` (states, priorities).
"""

from __future__ import annotations

from helpline.importers.znuny.org_customers import (
    import_customers,
    import_priorities,
    import_states,
)
from helpline.importers.znuny.org_people import (
    import_agents,
    import_groups,
    import_passwords,
    import_roles,
)
from helpline.importers.znuny.org_permissions import (
    import_permissions,
    import_role_members,
)
from helpline.importers.znuny.org_queues import import_queues, import_system_addresses
from helpline.importers.znuny.org_texts import (
    import_auto_responses,
    import_salutations,
    import_signatures,
    import_templates,
)
from helpline.importers.znuny.runner import Phase

PHASES: list[Phase] = [
    ("groups", import_groups),
    ("roles", import_roles),
    ("agents", import_agents),
    ("passwords", import_passwords),
    ("role_members", import_role_members),
    ("permissions", import_permissions),
    ("salutations", import_salutations),
    ("signatures", import_signatures),
    ("queues", import_queues),
    ("system_addresses", import_system_addresses),
    ("templates", import_templates),
    ("auto_responses", import_auto_responses),
    ("customers", import_customers),
    ("states", import_states),
    ("priorities", import_priorities),
]
