"""Agents that a directory (LDAP) vouches for: created at their first login, their
mapped roles brought in line with the directory's groups at every login."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction

from helpline.actions.admin import add_role_member, record, remove_role_member
from helpline.models import AgentProfile, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent


def parse_role_map(text: str) -> dict[str, str]:
    """``"cn=helpdesk,ou=groups,dc=example,dc=org=Support;admins=Admins"`` as
    ``{directory group (lower case): role name}``.  The role name is what follows the
    last ``=`` of an entry (a group's DN has ``=`` in it; a role name must not)."""
    mapping: dict[str, str] = {}
    for entry in text.split(";"):
        group, sep, role = entry.strip().rpartition("=")
        if not sep or not group.strip() or not role.strip():
            if entry.strip():
                raise ValueError(f"Not 'directory group=role': {entry.strip()!r}")
            continue
        mapping[group.strip().lower()] = role.strip()
    return mapping


def do_sync_directory_agent(
    agent: Agent,
    *,
    created: bool,
    groups: Iterable[str],
    role_map: dict[str, str],
) -> None:
    """Give a directory agent its profile (when new) and make its membership of every
    role named in ``role_map`` match the directory: a role is held if one of
    ``groups`` (the agent's group DNs and names, any case) maps to it.  Roles that the
    map does not name are left as the administrators set them."""
    held = {group.lower() for group in groups}
    wanted = {role for group, role in role_map.items() if group in held}
    managed = set(role_map.values())
    with transaction.atomic():
        if created or not AgentProfile.objects.filter(user=agent).exists():
            AgentProfile.objects.get_or_create(user=agent)
            record(
                None,
                "created",
                agent,
                object_type="agent",
                after={
                    "login": agent.get_username(),
                    "email": agent.email,
                    "source": "directory",
                },
            )
        current = set(
            Role.objects.filter(members=agent, name__in=managed).values_list(
                "name", flat=True
            )
        )
        for role in Role.objects.filter(name__in=wanted - current):
            add_role_member(role, agent)
        for role in Role.objects.filter(name__in=current - wanted):
            remove_role_member(role, agent)
