"""Permissions at scale: who holds what on a group, what an agent may do and why, and
many grants changed in one go (the administration screens and the API call these).

Who may use them: an administrator who may add and delete grants (the same rule as
the Django administration's permission grid) for every group, agent and role; a queue
coordinator — who holds ``manage`` on a group — for the agents' grants on that group
only, ``manage`` excepted (``require_change``).  Every change goes through
``bulk_change_grants``: one transaction, additions before removals (so exchanging
``ro`` for ``rw`` withdraws nothing in between), a line in the administration log per
group and holder changed, and what the holders lost on tickets they may no longer read
(``withdrawal.withdraw_lost_access``).  The number of queries of a page does not grow
with the number of agents or groups shown.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from helpline.actions.access import forget_permissions
from helpline.actions.withdrawal import Withdrawn, collecting, withdraw_lost_access
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import AdminAuditEntry, Grant, Group, Permission, Queue, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

audit = logging.getLogger("helpline.audit")

ADMIN_PERMS = ("helpline.add_grant", "helpline.delete_grant")
PERMISSIONS: tuple[str, ...] = tuple(p.value for p in Permission)
# More changes than this in one request is a mistake, not a use (500 agents x 50
# groups x one permission is 25 000).
MAX_CHANGES = 100_000
PER_PAGE_CHOICES = (50, 100, 500)
_TOKEN = re.compile(r"^([+-])([ar])(\d{1,12}):(\d{1,12}):([a-z_]{1,20})$")


def is_permission_admin(actor: Agent | None) -> bool:
    """May ``actor`` see and change every grant?"""
    return bool(
        actor is not None
        and actor.is_active
        and actor.is_staff
        and actor.has_perms(ADMIN_PERMS)
    )


def require_permission_admin(actor: Agent | None) -> None:
    if not is_permission_admin(actor):
        raise PermissionDenied(
            "You need to be an administrator who may change grants to do this."
        )


def managed_group_ids(actor: Agent | None) -> frozenset[int]:
    """The valid groups on which ``actor`` holds ``manage`` (own grant or valid role;
    ``rw`` does not imply it)."""
    if actor is None or not actor.is_active or actor.pk is None:
        return frozenset()
    return frozenset(
        Grant.objects.held_by(actor)
        .filter(permission=Permission.MANAGE)
        .values_list("group_id", flat=True)
    )


def may_administer(actor: Agent | None) -> bool:
    """Shown the permission screens: administrators, and coordinators of a group."""
    return is_permission_admin(actor) or bool(managed_group_ids(actor))


def require_change(actor: Agent | None, changes: Iterable[Change]) -> None:
    """May ``actor`` make every one of ``changes``?  An administrator may make any; a
    coordinator only agents' grants, on groups it manages, and never ``manage``
    (so that a coordinator cannot make more coordinators, or unmake another)."""
    if is_permission_admin(actor):
        return
    managed = managed_group_ids(actor)
    if not managed:
        require_permission_admin(actor)
    for c in changes:
        if c.group_id not in managed:
            raise PermissionDenied(
                "You may change grants only on the groups you manage."
            )
        if c.kind != "a":
            raise PermissionDenied("Only administrators change the grants of roles.")
        if c.permission == Permission.MANAGE:
            raise PermissionDenied(
                "Only administrators give or take the 'manage' permission."
            )


def _implies(perms: set[str] | frozenset[str], need: str) -> bool:
    if need in Permission.explicit_only():
        return need in perms
    return need in perms or Permission.RW in perms


# --- reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class HolderRow:
    """One agent or role on a group's page: its own grants, and (agents) the roles
    that give it each permission."""

    kind: str  # "agent" or "role"
    pk: int
    label: str
    active: bool
    direct: frozenset[str]
    via: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def cells(self) -> list[dict[str, Any]]:
        """Per permission: held directly, through which roles, implied by ``rw``."""
        role_perms = set(self.via)
        every = set(self.direct) | role_perms
        result = []
        for perm in PERMISSIONS:
            implied = not (perm in self.direct or perm in role_perms) and _implies(
                every, perm
            )
            result.append(
                {
                    "perm": perm,
                    "direct": perm in self.direct,
                    "via": self.via.get(perm, ()),
                    "implied": implied,
                    "effective": _implies(every, perm),
                }
            )
        return result


@dataclass(frozen=True)
class Page:
    rows: list[HolderRow]
    total: int
    number: int
    pages: int
    per_page: int


def get_group_for(actor: Agent | None, group_id: int) -> Group:
    """The group, if ``actor`` administers permissions or manages it."""
    if not is_permission_admin(actor) and group_id not in managed_group_ids(actor):
        if not may_administer(actor):
            require_permission_admin(actor)
        raise PermissionDenied("You may see the grants only of the groups you manage.")
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound("No such group.")
    return group


def _page_numbers(total: int, page: int, per_page: int) -> tuple[int, int, int]:
    if per_page not in PER_PAGE_CHOICES:
        raise InvalidInput(
            f"Show {', '.join(str(n) for n in PER_PAGE_CHOICES)} rows per page."
        )
    pages = max(1, -(-total // per_page))
    number = min(max(1, page), pages)
    return number, pages, (number - 1) * per_page


def _holding(group: Group, permission: str, *, via_role: bool) -> Q:
    """Agents (or roles) holding ``permission`` on ``group``, ``rw`` included when it
    implies it."""
    wanted = (
        [permission]
        if permission in Permission.explicit_only()
        else [permission, Permission.RW]
    )
    own = Grant.objects.filter(group=group, permission__in=wanted)
    if via_role:
        return Q(Exists(own.filter(role=OuterRef("pk"))))
    through_role = own.filter(role__valid=True, role__members=OuterRef("pk"))
    return Q(Exists(own.filter(agent=OuterRef("pk")))) | Q(Exists(through_role))


def group_holders(
    actor: Agent | None,
    group: Group,
    *,
    kind: str = "agent",
    query: str = "",
    permission: str = "",
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """The agents (or roles) and what they hold on ``group``, filtered by name and by
    a permission held (directly, through a role, or implied by ``rw``), one page of
    them.  Four queries whatever the page size.  A coordinator of the group sees
    its agents (not roles)."""
    if not is_permission_admin(actor):
        if group.pk not in managed_group_ids(actor):
            raise PermissionDenied(
                "You may see the grants only of the groups you manage."
            )
        if kind != "agent":
            raise PermissionDenied("Only administrators change the grants of roles.")
    if permission and permission not in PERMISSIONS:
        raise InvalidInput(f"Unknown permission {permission!r}.")
    query = query.strip()
    if kind == "role":
        roles = Role.objects.order_by("name")
        if query:
            roles = roles.filter(name__icontains=query)
        if permission:
            roles = roles.filter(_holding(group, permission, via_role=True))
        total = roles.count()
        number, pages, start = _page_numbers(total, page, per_page)
        role_list = list(roles[start : start + per_page])
        held: dict[int, set[str]] = defaultdict(set)
        for role_id, perm in Grant.objects.filter(
            group=group, role__in=[r.pk for r in role_list]
        ).values_list("role_id", "permission"):
            held[role_id].add(perm)
        rows = [
            HolderRow("role", r.pk, r.name, r.valid, frozenset(held[r.pk]))
            for r in role_list
        ]
        return Page(rows, total, number, pages, per_page)
    if kind != "agent":
        raise InvalidInput("Show agents or roles.")
    agents = get_user_model().objects.filter(is_active=True).order_by("username")
    if query:
        agents = agents.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
        )
    if permission:
        agents = agents.filter(_holding(group, permission, via_role=False))
    total = agents.count()
    number, pages, start = _page_numbers(total, page, per_page)
    agent_list = list(agents[start : start + per_page])
    ids = [a.pk for a in agent_list]
    direct: dict[int, set[str]] = defaultdict(set)
    for agent_id, perm in Grant.objects.filter(
        group=group, agent_id__in=ids
    ).values_list("agent_id", "permission"):
        direct[agent_id].add(perm)
    via: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for member_id, role_name, perm in (
        Grant.objects.filter(group=group, role__valid=True, role__members__in=ids)
        .order_by("role__name")
        .values_list("role__members", "role__name", "permission")
    ):
        via[member_id][perm].append(role_name)
    rows = [
        HolderRow(
            "agent",
            a.pk,
            _agent_label(a),
            a.is_active,
            frozenset(direct[a.pk]),
            {p: tuple(names) for p, names in via[a.pk].items()},
        )
        for a in agent_list
    ]
    return Page(rows, total, number, pages, per_page)


def _agent_label(agent: Agent) -> str:
    name = agent.get_full_name()
    return f"{agent.get_username()} ({name})" if name else agent.get_username()


@dataclass(frozen=True)
class AgentGroupRow:
    """What one agent may do in one group, and why."""

    group: Group
    holder: HolderRow


@dataclass(frozen=True)
class AgentPermissions:
    agent: Any
    roles: list[Role]
    rows: list[AgentGroupRow]


def get_agent_for(actor: Agent | None, agent_id: int) -> Any:
    require_permission_admin(actor)
    agent = get_user_model().objects.filter(pk=agent_id).first()
    if agent is None:
        raise NotFound("No such agent.")
    return agent


def agent_permissions(
    actor: Agent | None, agent: Any, *, query: str = ""
) -> AgentPermissions:
    """Every valid group (matching ``query``) and what ``agent`` may do in it: its own
    grants, the roles that give it a permission, what ``rw`` implies.  Four queries."""
    require_permission_admin(actor)
    groups = Group.objects.filter(valid=True).order_by("name")
    if query.strip():
        groups = groups.filter(name__icontains=query.strip())
    group_list = list(groups)
    roles = list(agent.helpline_roles.order_by("name"))
    direct: dict[int, set[str]] = defaultdict(set)
    for group_id, perm in Grant.objects.filter(agent=agent).values_list(
        "group_id", "permission"
    ):
        direct[group_id].add(perm)
    via: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for group_id, role_name, perm in (
        Grant.objects.filter(role__valid=True, role__members=agent)
        .order_by("role__name")
        .values_list("group_id", "role__name", "permission")
    ):
        via[group_id][perm].append(role_name)
    rows = [
        AgentGroupRow(
            g,
            HolderRow(
                "agent",
                agent.pk,
                _agent_label(agent),
                agent.is_active,
                frozenset(direct[g.pk]),
                {p: tuple(names) for p, names in via[g.pk].items()},
            ),
        )
        for g in group_list
    ]
    return AgentPermissions(agent, roles, rows)


# --- changing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One grant to add (``add``) or remove, for an agent (``a``) or a role (``r``)."""

    add: bool
    kind: str
    subject_id: int
    group_id: int
    permission: str

    def token(self) -> str:
        sign = "+" if self.add else "-"
        return f"{sign}{self.kind}{self.subject_id}:{self.group_id}:{self.permission}"


def parse_changes(text: str | Iterable[str]) -> list[Change]:
    """The compact list the screens and the API send: tokens such as ``+a12:3:rw``
    (add ``rw`` on group 3 for agent 12) or ``-r4:3:ro`` (remove ``ro`` on group 3
    from role 4), separated by spaces or commas, or a list of such tokens."""
    tokens = (
        [t for t in re.split(r"[\s,]+", text) if t]
        if isinstance(text, str)
        else [str(t).strip() for t in text]
    )
    if len(tokens) > MAX_CHANGES:
        raise InvalidInput(f"At most {MAX_CHANGES} changes at once.")
    changes: dict[tuple[str, int, int, str], Change] = {}
    for token in tokens:
        match = _TOKEN.match(token)
        if match is None:
            raise InvalidInput(
                f"Cannot read the change {token[:40]!r}: write +a12:3:rw or -r4:3:ro."
            )
        sign, kind, subject, group, perm = match.groups()
        if perm not in PERMISSIONS:
            raise InvalidInput(f"Unknown permission {perm!r}.")
        change = Change(sign == "+", kind, int(subject), int(group), perm)
        key = (kind, change.subject_id, change.group_id, perm)
        if key in changes and changes[key].add != change.add:
            raise InvalidInput(f"{token} is both added and removed.")
        changes[key] = change
    return list(changes.values())


@dataclass(frozen=True)
class Applied:
    """What ``bulk_change_grants`` did."""

    added: int
    removed: int
    withdrawn: list[Withdrawn]

    @property
    def changed(self) -> int:
        return self.added + self.removed


def bulk_change_grants(actor: Agent | None, changes: list[Change]) -> Applied:
    """Apply ``changes`` as one change: checked, in one transaction, additions first,
    audited per group and holder.  Changes that are already so (adding a grant held,
    removing one not held) are left out and not counted."""
    require_change(actor, changes)
    if not changes:
        return Applied(0, 0, [])
    groups = Group.objects.in_bulk({c.group_id for c in changes})
    agents = get_user_model().objects.in_bulk(
        {c.subject_id for c in changes if c.kind == "a"}
    )
    roles = Role.objects.in_bulk({c.subject_id for c in changes if c.kind == "r"})
    for c in changes:
        if c.group_id not in groups:
            raise NotFound(f"No group with id {c.group_id}.")
        if c.kind == "a" and c.subject_id not in agents:
            raise NotFound(f"No agent with id {c.subject_id}.")
        if c.kind == "r" and c.subject_id not in roles:
            raise NotFound(f"No role with id {c.subject_id}.")
    with transaction.atomic(), collecting() as withdrawn:
        existing = _existing(changes)
        adds = [c for c in changes if c.add and _key(c) not in existing]
        removes = [c for c in changes if not c.add and _key(c) in existing]
        Grant.objects.bulk_create(
            [
                Grant(
                    group_id=c.group_id,
                    permission=c.permission,
                    agent_id=c.subject_id if c.kind == "a" else None,
                    role_id=c.subject_id if c.kind == "r" else None,
                )
                for c in adds
            ],
            batch_size=1000,
        )
        pks = [existing[_key(c)] for c in removes]
        for start in range(0, len(pks), 1000):
            Grant.objects.filter(pk__in=pks[start : start + 1000]).delete()
        counts = _withdraw(removes, roles)
        _audit(actor, adds, removes, groups, agents, roles, counts)
    if actor is not None:
        forget_permissions(actor)
    return Applied(len(adds), len(removes), withdrawn)


def _key(c: Change) -> tuple[str, int, int, str]:
    return (c.kind, c.subject_id, c.group_id, c.permission)


def _existing(changes: list[Change]) -> dict[tuple[str, int, int, str], int]:
    """The grants among ``changes`` that exist now: {key: grant id}, a query per
    kind of holder (the rows read are those of the groups and holders named)."""
    result: dict[tuple[str, int, int, str], int] = {}
    for kind, column in (("a", "agent_id"), ("r", "role_id")):
        mine = [c for c in changes if c.kind == kind]
        if not mine:
            continue
        rows = (
            Grant.objects.select_for_update()
            .filter(
                group_id__in={c.group_id for c in mine},
                permission__in={c.permission for c in mine},
                **{f"{column}__in": {c.subject_id for c in mine}},
            )
            .values_list("pk", column, "group_id", "permission")
        )
        for pk, subject, group_id, perm in rows:
            result[(kind, subject, group_id, perm)] = pk
    return result


def _withdraw(removes: list[Change], roles: dict[int, Role]) -> dict[int, int]:
    """Take back what the holders of removed grants may no longer hold, per group;
    returns {group id: tickets withdrawn}."""
    by_group: dict[int, set[int]] = defaultdict(set)
    role_ids = {c.subject_id for c in removes if c.kind == "r"}
    members: dict[int, list[int]] = defaultdict(list)
    if role_ids:
        through = Role.members.through.objects.filter(role_id__in=role_ids)
        for role_id, user_id in through.values_list("role_id", "user_id"):
            members[role_id].append(user_id)
    for c in removes:
        if c.kind == "a":
            by_group[c.group_id].add(c.subject_id)
        else:
            by_group[c.group_id].update(members[c.subject_id])
    counts: dict[int, int] = {}
    for group_id, agent_ids in by_group.items():
        if not agent_ids:
            continue
        lost = withdraw_lost_access(
            agent_ids=sorted(agent_ids),
            queue_ids=Queue.objects.filter(group_id=group_id).values_list(
                "pk", flat=True
            ),
            reason="access revoked",
        )
        counts[group_id] = len({item.ticket_id for item in lost})
    return counts


def _audit(
    actor: Agent | None,
    adds: list[Change],
    removes: list[Change],
    groups: dict[int, Group],
    agents: dict[int, Any],
    roles: dict[int, Role],
    counts: dict[int, int],
) -> None:
    """One administration-log entry per group, holder and direction, written in one
    statement; the same wording as ``admin.grant_as`` / ``admin.revoke_as``."""

    def who(kind: str, pk: int) -> str:
        return agents[pk].get_username() if kind == "a" else f"role {roles[pk]}"

    grouped: dict[tuple[bool, int, str, int], list[str]] = defaultdict(list)
    for c in [*adds, *removes]:
        grouped[(c.add, c.group_id, c.kind, c.subject_id)].append(c.permission)
    now = timezone.now()
    name = actor.get_username() if actor is not None else ""
    entries = []
    for (add, group_id, kind, pk), perms in grouped.items():
        group = groups[group_id]
        holder = who(kind, pk)
        before: dict[str, Any]
        after: dict[str, Any]
        if add:
            action, before, after = "granted", {}, {"to": holder, "permissions": perms}
        else:
            action = "revoked"
            before = {"from": holder, "permissions": perms}
            after = {"tickets withdrawn (group)": counts.get(group_id, 0)}
        entries.append(
            AdminAuditEntry(
                created=now,
                actor=actor,
                actor_name=name,
                action=action,
                object_type="group",
                object_id=str(group_id),
                object_repr=group.name[:300],
                before=before,
                after=after,
            )
        )
        audit.info(
            "%s: %s %s on group %s %s %s",
            name or "system",
            action,
            ",".join(perms),
            group.name,
            "to" if add else "from",
            holder,
        )
    AdminAuditEntry.objects.bulk_create(entries, batch_size=1000)
