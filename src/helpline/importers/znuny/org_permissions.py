"""Role membership and permissions: Znuny's ``role_user``, ``group_user`` and
``group_role`` become Helpline's role members and ``Grant`` rows.

Znuny and Helpline have the same permissions on a group, with the same meaning
(``rw`` implies every other one; Helpline's extra ``override_lock`` has no Znuny
counterpart and is never granted by the import):

==============  ==================  ==============================================
Znuny           Helpline            meaning
==============  ==================  ==============================================
``ro``          ``ro``              see the group's queues and tickets
``move_into``   ``move_into``       move tickets into the group's queues
``create``      ``create``          create tickets in the group's queues
``note``        ``note``            add notes to the group's tickets
``owner``       ``owner``           be made owner of the group's tickets
``priority``    ``priority``        change the priority of the group's tickets
``rw``          ``rw``              everything above, and change the tickets
==============  ==================  ==============================================

Other keys (added by Znuny packages, e.g. ``chat_observer``) are skipped and counted.
The grants of imported agents and roles on imported groups are made exactly what
Znuny holds: a permission withdrawn in Znuny is withdrawn here.  ``rw`` on Znuny's
group ``admin`` (directly or through a role) makes the agent a Helpline
administrator, and a later run takes that away again when Znuny does (only from
agents the import made administrators: ``_admins``).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import models, transaction

from helpline.importers.znuny.org_sync import sync_links
from helpline.importers.znuny.runner import Context
from helpline.models import Grant, Permission, Role

PERMISSIONS = {
    "ro": Permission.RO,
    "move_into": Permission.MOVE_INTO,
    "create": Permission.CREATE,
    "note": Permission.NOTE,
    "owner": Permission.OWNER,
    "priority": Permission.PRIORITY,
    "rw": Permission.RW,
}
ADMIN_GROUP = "admin"


def _targets(ctx: Context, kind: str) -> dict[str, int]:
    return {
        k: e.target_id
        for k, e in ctx.mapping.kind(kind).items()
        if e.target_id is not None
    }


def import_role_members(ctx: Context) -> None:
    kind = "role_member"
    agents, roles = _targets(ctx, "agent"), _targets(ctx, "role")
    rows = ctx.source.all("SELECT user_id, role_id FROM role_user")
    wanted: set[tuple[int, int]] = set()
    for r in rows:
        role, agent = roles.get(str(r["role_id"])), agents.get(str(r["user_id"]))
        if role is None or agent is None:
            ctx.report.skip(
                kind, f"{r['user_id']}/{r['role_id']}", "agent or role unknown"
            )
            continue
        wanted.add((role, agent))
    ctx.report[kind].source += len(rows)
    with transaction.atomic():
        added, removed = sync_links(
            Role.members.through,
            "role",
            "user",
            wanted,
            scope=models.Q(role_id__in=roles.values(), user_id__in=agents.values()),
        )
    _count(ctx, kind, len(wanted), added, removed)


def import_permissions(ctx: Context) -> None:
    kind = "permission"
    agents, roles = _targets(ctx, "agent"), _targets(ctx, "role")
    groups = _targets(ctx, "group")
    agent_rows = ctx.source.all(
        "SELECT user_id, group_id, permission_key FROM group_user"
    )
    role_rows = ctx.source.all(
        "SELECT role_id, group_id, permission_key, permission_value FROM group_role"
    )
    ctx.report[kind].source += len(agent_rows) + len(role_rows)
    ctx.progress.start(kind, len(agent_rows) + len(role_rows))
    by_agent = _wanted(ctx, kind, agent_rows, "user_id", agents, groups)
    by_role = _wanted(
        ctx,
        kind,
        [r for r in role_rows if r["permission_value"]],
        "role_id",
        roles,
        groups,
    )
    for r in role_rows:
        if not r["permission_value"]:
            ctx.report.skip(
                kind, f"role {r['role_id']}", "permission_value 0 (not granted)"
            )
    with transaction.atomic():
        added, removed = _sync_grants("agent", by_agent, agents, groups)
        role_added, role_removed = _sync_grants("role", by_role, roles, groups)
        _admins(ctx, by_agent, by_role, groups)
    _count(
        ctx,
        kind,
        len(by_agent) + len(by_role),
        added + role_added,
        removed + role_removed,
    )
    ctx.progress.advance(len(agent_rows) + len(role_rows))


def _wanted(
    ctx: Context,
    kind: str,
    rows: list[dict[str, object]],
    holder: str,
    holders: dict[str, int],
    groups: dict[str, int],
) -> set[tuple[int, int, str]]:
    wanted: set[tuple[int, int, str]] = set()
    for r in rows:
        key = ctx.source.text(r["permission_key"])  # type: ignore[arg-type]
        who, group = holders.get(str(r[holder])), groups.get(str(r["group_id"]))
        label = f"{holder} {r[holder]} group {r['group_id']} {key}"
        if key not in PERMISSIONS:
            ctx.report.skip(
                kind, label, f"permission {key!r} has no Helpline equivalent"
            )
        elif who is None or group is None:
            ctx.report.skip(
                kind, label, f"{holder.split('_')[0]} or group not imported"
            )
        else:
            wanted.add((who, group, PERMISSIONS[key].value))
    return wanted


def _sync_grants(
    holder: str,
    wanted: set[tuple[int, int, str]],
    holders: dict[str, int],
    groups: dict[str, int],
) -> tuple[int, int]:
    scope = models.Q(
        **{f"{holder}_id__in": list(holders.values())},
        group_id__in=list(groups.values()),
    )
    have = {
        (who, group, perm): pk
        for pk, who, group, perm in Grant.objects.filter(scope).values_list(
            "pk", f"{holder}_id", "group_id", "permission"
        )
    }
    missing = wanted - have.keys()
    extra = [
        pk
        for grant, pk in have.items()
        if grant not in wanted and grant[2] in PERMISSIONS.values()
    ]
    Grant.objects.bulk_create(
        [
            Grant(**{f"{holder}_id": who}, group_id=group, permission=perm)
            for who, group, perm in sorted(missing)
        ],
        batch_size=1000,
    )
    if extra:
        Grant.objects.filter(pk__in=extra).delete()
    return len(missing), len(extra)


def _admins(
    ctx: Context,
    by_agent: set[tuple[int, int, str]],
    by_role: set[tuple[int, int, str]],
    groups: dict[str, int],
) -> None:
    """``rw`` on Znuny's ``admin`` group: a Helpline administrator (``is_staff`` and
    ``is_superuser``).  The agent mapping's cursor records ``"admin": true`` when the
    import made an agent administrator; a later run withdraws exactly those when
    Znuny no longer gives that ``rw``.  An agent who was administrator before the
    import made it one (made so in Helpline, or by a run before this was recorded)
    is never touched."""
    kind = "admin"
    admin_group = ctx.source.scalar(
        "SELECT id FROM permission_groups WHERE name = %s", (ADMIN_GROUP,)
    )
    target = groups.get(str(admin_group))
    admins: set[int] = set()
    if target is not None:
        admins = {
            who for who, group, perm in by_agent if group == target and perm == "rw"
        }
        admin_roles = {
            who for who, group, perm in by_role if group == target and perm == "rw"
        }
        if admin_roles:
            admins |= set(
                Role.members.through.objects.filter(
                    role_id__in=admin_roles
                ).values_list("user_id", flat=True)
            )
    entries = {
        e.target_id: (key, e)
        for key, e in ctx.mapping.kind("agent").items()
        if e.target_id is not None
    }
    users = {
        pk: staff and superuser
        for pk, staff, superuser in User.objects.filter(
            pk__in=list(entries)
        ).values_list("pk", "is_staff", "is_superuser")
    }
    report = ctx.report[kind]
    grant, withdraw, remembered = [], [], []
    for pk, (key, entry) in entries.items():
        given = bool(entry.cursor.get("admin"))
        is_admin = users.get(pk, False)
        if pk in admins:
            report.source += 1
            if not is_admin:
                grant.append(pk)
                report.imported += 1
            else:  # already (by the import, or made so in Helpline: then kept)
                report.unchanged += 1
                continue
            if not given:
                remembered.append(
                    (key, pk, entry.stamp, {**entry.cursor, "admin": True}, "")
                )
        elif given:
            if is_admin:
                withdraw.append(pk)
                report.updated += 1  # withdrawn here as in Znuny
            cursor = {k: v for k, v in entry.cursor.items() if k != "admin"}
            remembered.append((key, pk, entry.stamp, cursor, ""))
    User.objects.filter(pk__in=grant).update(is_staff=True, is_superuser=True)
    User.objects.filter(pk__in=withdraw).update(is_staff=False, is_superuser=False)
    ctx.mapping.remember_many("agent", remembered)


def _count(ctx: Context, kind: str, wanted: int, added: int, removed: int) -> None:
    report = ctx.report[kind]
    report.imported += added
    report.updated += removed  # withdrawn here as in Znuny
    report.unchanged += wanted - added
