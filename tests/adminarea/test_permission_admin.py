"""Permissions at scale: the domain layer (helpline.actions.permission_admin)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.actions import admin
from helpline.actions import permission_admin as pa
from helpline.actions.access import forget_permissions, may
from helpline.actions.tickets import watch_ticket
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import AdminAuditEntry, Grant, Permission
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    return make_agent("boss", is_admin=True)


def test_only_an_administrator_who_may_change_grants_reads_or_changes(boss):
    group = make_group("Support")
    plain = make_agent("plain")
    for actor in (plain, None):
        with pytest.raises(PermissionDenied):
            pa.group_holders(actor, group)
        with pytest.raises(PermissionDenied):
            pa.agent_permissions(actor, plain)
        with pytest.raises(PermissionDenied):
            pa.bulk_change_grants(
                actor, pa.parse_changes(f"+a{plain.pk}:{group.pk}:rw")
            )
        with pytest.raises(PermissionDenied):
            pa.get_group_for(actor, group.pk)
    assert not Grant.objects.exists()
    boss.is_active = False
    boss.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        pa.group_holders(boss, group)


def test_parse_changes_reads_the_compact_list_and_refuses_the_rest():
    changes = pa.parse_changes("+a12:3:rw, -r4:3:ro\n+a12:3:override_lock")
    assert [c.token() for c in changes] == [
        "+a12:3:rw",
        "-r4:3:ro",
        "+a12:3:override_lock",
    ]
    assert pa.parse_changes(["+a1:2:ro"])[0].add
    for bad in ("a12:3:rw", "+x1:2:ro", "+a1:2:fly", "+a1:2:ro -a1:2:ro", "+a1:b:ro"):
        with pytest.raises(InvalidInput):
            pa.parse_changes(bad)


def test_group_holders_shows_direct_role_and_implied(boss):
    group = make_group("Support")
    alice = make_agent("alice", first_name="Alice")
    bob = make_agent("bob")
    role = admin.create_role("Leads")
    admin.add_role_member(role, bob)
    admin.grant(group, [Permission.RW], agent=alice)
    admin.grant(group, [Permission.OVERRIDE_LOCK, Permission.RO], role=role)
    page = pa.group_holders(boss, group)
    rows = {r.label: r for r in page.rows}
    alice_cells = {c["perm"]: c for c in rows["alice (Alice)"].cells()}
    assert alice_cells["rw"]["direct"]
    assert alice_cells["note"]["implied"] and alice_cells["note"]["effective"]
    assert not alice_cells["override_lock"]["effective"]  # rw does not imply it
    bob_cells = {c["perm"]: c for c in rows["bob"].cells()}
    assert bob_cells["override_lock"]["via"] == ("Leads",)
    assert not bob_cells["override_lock"]["direct"]
    # Filtered by a permission held: through a role counts, rw implies note.
    held = pa.group_holders(boss, group, permission="override_lock")
    assert [r.label for r in held.rows] == ["bob"]
    noting = pa.group_holders(boss, group, permission="note")
    assert [r.label for r in noting.rows] == ["alice (Alice)"]
    assert [r.label for r in pa.group_holders(boss, group, query="ALI").rows] == [
        "alice (Alice)"
    ]
    roles = pa.group_holders(boss, group, kind="role")
    assert [(r.label, sorted(r.direct)) for r in roles.rows] == [
        ("Leads", ["override_lock", "ro"])
    ]
    with pytest.raises(InvalidInput):
        pa.group_holders(boss, group, permission="fly")
    with pytest.raises(InvalidInput):
        pa.group_holders(boss, group, per_page=7)


def test_group_page_queries_do_not_grow_with_agents_and_groups(boss):
    groups = [make_group(f"g{i}") for i in range(3)]
    role = admin.create_role("Everyone")
    admin.grant(groups[0], [Permission.RO], role=role)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page = pa.group_holders(boss, groups[0], per_page=500)
            for row in page.rows:
                row.cells()
        return len(ctx.captured_queries)

    agents = [make_agent(f"a{i}") for i in range(3)]
    for agent in agents:
        admin.add_role_member(role, agent)
        admin.grant(groups[0], [Permission.NOTE], agent=agent)
    small = count()
    more = [make_agent(f"b{i}") for i in range(40)]
    groups += [make_group(f"h{i}") for i in range(10)]
    pa.bulk_change_grants(
        boss,
        [pa.Change(True, "a", a.pk, g.pk, "rw") for a in more for g in groups],
    )
    for agent in more:
        admin.add_role_member(role, agent)
    assert count() == small


def test_agent_permissions_say_why(boss):
    a, b = make_group("A"), make_group("B")
    off = make_group("Off")
    off.valid = False
    off.save(update_fields=["valid"])
    alice = make_agent("alice")
    role = admin.create_role("Team")
    admin.add_role_member(role, alice)
    admin.grant(a, [Permission.RO], agent=alice)
    admin.grant(b, [Permission.RW], role=role)
    result = pa.agent_permissions(boss, alice)
    assert [r.group.name for r in result.rows] == ["A", "B"]  # valid groups only
    cells = {
        r.group.name: {c["perm"]: c for c in r.holder.cells()} for r in result.rows
    }
    assert cells["A"]["ro"]["direct"] and not cells["A"]["rw"]["effective"]
    assert cells["B"]["rw"]["via"] == ("Team",)
    assert cells["B"]["create"]["implied"]
    assert [r.name for r in result.roles] == ["Team"]


def test_bulk_change_adds_first_audits_and_withdraws(boss):
    group = make_group("Support")
    queue = make_queue("Info", group=group)
    alice = make_agent("alice")
    admin.grant(group, [Permission.RO], agent=alice)
    ticket = make_ticket(queue)
    # Exchanging ro for rw loses nothing in between and is audited.
    applied = pa.bulk_change_grants(
        boss, pa.parse_changes(f"+a{alice.pk}:{group.pk}:rw -a{alice.pk}:{group.pk}:ro")
    )
    assert (applied.added, applied.removed) == (1, 1)
    assert applied.withdrawn == []
    assert list(
        Grant.objects.filter(agent=alice).values_list("permission", flat=True)
    ) == ["rw"]
    entries = AdminAuditEntry.objects.filter(
        action__in=["granted", "revoked"]
    ).order_by("action")
    assert [(e.action, e.actor_name) for e in entries] == [
        ("granted", "boss"),
        ("revoked", "boss"),
    ]
    assert entries[0].after == {"to": "alice", "permissions": ["rw"]}
    # Already so: nothing changes, nothing is logged.
    again = pa.bulk_change_grants(
        boss, pa.parse_changes(f"+a{alice.pk}:{group.pk}:rw -a{alice.pk}:{group.pk}:ro")
    )
    assert again.changed == 0
    assert (
        AdminAuditEntry.objects.filter(action__in=["granted", "revoked"]).count() == 2
    )
    assert may(alice, ticket, Permission.RW)
    with pytest.raises(NotFound):
        pa.bulk_change_grants(boss, pa.parse_changes(f"+a99999:{group.pk}:rw"))
    with pytest.raises(NotFound):
        pa.bulk_change_grants(boss, pa.parse_changes(f"+a{alice.pk}:99999:rw"))


def test_bulk_change_of_a_role_withdraws_from_its_members(boss):
    group = make_group("Support")
    queue = make_queue("Info", group=group)
    alice = make_agent("alice")
    role = admin.create_role("Team")
    admin.add_role_member(role, alice)
    admin.grant(group, [Permission.RW], role=role)
    ticket = make_ticket(queue)
    watch_ticket(alice, ticket.pk)
    applied = pa.bulk_change_grants(
        boss, pa.parse_changes(f"-r{role.pk}:{group.pk}:rw")
    )
    assert applied.removed == 1
    forget_permissions(alice)
    assert not may(alice, ticket, Permission.RO)
    assert [w.agent for w in applied.withdrawn] == ["alice"]
    assert not ticket.watchers.filter(pk=alice.pk).exists()


def test_five_hundred_agents_in_one_change_with_constant_queries(boss):
    group = make_group("Support")
    agents = [make_agent(f"agent{i:03}") for i in range(500)]
    changes = [pa.Change(True, "a", a.pk, group.pk, "ro") for a in agents]
    with CaptureQueriesContext(connection) as ctx:
        applied = pa.bulk_change_grants(boss, changes)
    assert applied.added == 500
    assert len(ctx.captured_queries) < 30
    assert Grant.objects.filter(group=group, permission="ro").count() == 500
    assert AdminAuditEntry.objects.filter(action="granted").count() == 500
