"""Groups and roles in Helpline's own administration area (docs/administration.md
"Groups and roles"): the domain layer (who may, audit, bad input, access withdrawn
when a group or role is switched off or an agent leaves a role) and the pages over
HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.actions import admin
from helpline.actions import group_admin as ga
from helpline.actions.access import forget_permissions, may_in_queue
from helpline.actions.locks import do_lock_to
from helpline.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from helpline.models import AdminAuditEntry, Group, Permission, Role
from tests.support import make_agent, make_group, make_queue, make_ticket
from tests.web import web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def boss():
    return make_agent("boss", is_admin=True)


@pytest.fixture
def boss_client(client, boss):
    client.force_login(boss)
    return client


# --- the domain layer -------------------------------------------------------------


def test_only_administrators_touch_groups_and_roles(boss):
    group = make_group("Support")
    role = admin.create_role("Night")
    plain = make_agent("plain")
    lead = make_agent("lead")
    admin.grant(group, [Permission.MANAGE, Permission.RW], agent=lead)
    for who in (None, plain, lead):
        with pytest.raises(PermissionDenied):
            ga.list_groups(who)
        with pytest.raises(PermissionDenied):
            ga.create_group_for(who, name="X")
        with pytest.raises(PermissionDenied):
            ga.save_group(who, group.pk, name="Y", comment="", valid=False)
        with pytest.raises(PermissionDenied):
            ga.list_roles(who)
        with pytest.raises(PermissionDenied):
            ga.save_role(who, role.pk, name="Y", comment="", valid=False)
        with pytest.raises(PermissionDenied):
            ga.add_member(who, role.pk, "plain")
    group.refresh_from_db()
    role.refresh_from_db()
    assert group.name == "Support" and group.valid
    assert role.name == "Night" and role.valid and not role.members.exists()
    assert not Group.objects.filter(name="X").exists()


def test_groups_are_created_renamed_and_audited(boss):
    group = ga.create_group_for(boss, name="  Support ", comment="first line")
    assert group.name == "Support"
    assert AdminAuditEntry.objects.filter(
        action="created", object_repr="Support", actor_name="boss"
    ).exists()
    ga.save_group(boss, group.pk, name="Helpdesk", comment="changed", valid=True)
    group.refresh_from_db()
    assert group.name == "Helpdesk" and group.comment == "changed"
    entry = AdminAuditEntry.objects.get(action="changed", object_repr="Helpdesk")
    assert entry.before["name"] == "Support" and entry.after["name"] == "Helpdesk"


@pytest.mark.parametrize(
    ("name", "error"),
    [("", InvalidInput), ("   ", InvalidInput), ("x" * 201, InvalidInput)],
)
def test_a_bad_name_is_refused(boss, name, error):
    with pytest.raises(error):
        ga.create_group_for(boss, name=name)
    with pytest.raises(error):
        ga.create_role_for(boss, name=name)
    assert not Group.objects.exists() and not Role.objects.exists()


def test_a_duplicate_name_is_refused(boss):
    make_group("Support")
    other = make_group("Other")
    admin.create_role("Night")
    day = admin.create_role("Day")
    with pytest.raises(Conflict, match="exists already"):
        ga.create_group_for(boss, name="Support")
    with pytest.raises(Conflict, match="exists already"):
        ga.save_group(boss, other.pk, name="Support", comment="", valid=True)
    with pytest.raises(Conflict, match="exists already"):
        ga.create_role_for(boss, name="Night")
    with pytest.raises(Conflict, match="exists already"):
        ga.save_role(boss, day.pk, name="Night", comment="", valid=True)


def test_switching_a_group_off_withdraws_the_lock_of_its_agents(boss):
    queue = make_queue("Billing", group=make_group("Support"))
    volunteer = make_agent("volunteer")
    admin.grant(queue.group, [Permission.RW], agent=volunteer)
    ticket = make_ticket(queue)
    do_lock_to(None, ticket, volunteer)
    ticket.refresh_from_db()
    assert ticket.owner == volunteer and ticket.locked
    withdrawn = ga.save_group(
        boss, queue.group_id, name=queue.group.name, comment="", valid=False
    )
    assert [w.ticket_id for w in withdrawn] == [ticket.pk]
    ticket.refresh_from_db()
    assert ticket.owner is None and not ticket.locked
    assert not may_in_queue(volunteer, queue, "ro")
    assert AdminAuditEntry.objects.filter(
        action="changed", object_repr="Support", actor_name="boss"
    ).exists()
    # And on again: the grant counts again.
    ga.save_group(boss, queue.group_id, name=queue.group.name, comment="", valid=True)
    forget_permissions(volunteer)  # cached on the object within one request
    assert may_in_queue(volunteer, queue, "ro")


def test_leaving_a_role_withdraws_the_lock_and_is_audited(boss):
    queue = make_queue("Support")
    role = ga.create_role_for(boss, name="Night", comment="")
    admin.grant(queue.group, [Permission.RW], role=role)
    volunteer = make_agent("volunteer")
    ga.add_member(boss, role.pk, "volunteer")
    assert AdminAuditEntry.objects.filter(
        action="member added", object_repr="Night", after={"agent": "volunteer"}
    ).exists()
    ticket = make_ticket(queue)
    do_lock_to(None, ticket, volunteer)
    withdrawn = ga.remove_member(boss, role.pk, volunteer.pk)
    assert [w.ticket_id for w in withdrawn] == [ticket.pk]
    ticket.refresh_from_db()
    assert ticket.owner is None and not ticket.locked
    assert AdminAuditEntry.objects.filter(
        action="member removed", object_repr="Night", actor_name="boss"
    ).exists()


def test_switching_a_role_off_withdraws_and_on_again_gives_back(boss):
    queue = make_queue("Support")
    role = ga.create_role_for(boss, name="Night")
    admin.grant(queue.group, [Permission.RW], role=role)
    volunteer = make_agent("volunteer")
    ga.add_member(boss, role.pk, "volunteer")
    ticket = make_ticket(queue)
    do_lock_to(None, ticket, volunteer)
    ga.save_role(boss, role.pk, name="Night", comment="", valid=False)
    ticket.refresh_from_db()
    assert not ticket.locked and not may_in_queue(volunteer, queue, "ro")
    ga.save_role(boss, role.pk, name="Night", comment="", valid=True)
    forget_permissions(volunteer)  # cached on the object within one request
    assert may_in_queue(volunteer, queue, "ro")


def test_members_by_login_with_clear_errors(boss):
    role = admin.create_role("Night")
    make_agent("volunteer")
    with pytest.raises(NotFound, match="No agent with login 'nobody'"):
        ga.add_member(boss, role.pk, "nobody")
    with pytest.raises(InvalidInput):
        ga.add_member(boss, role.pk, "  ")
    ga.add_member(boss, role.pk, "volunteer")
    with pytest.raises(Conflict, match="already"):
        ga.add_member(boss, role.pk, "volunteer")
    with pytest.raises(NotFound):
        ga.remove_member(boss, role.pk, boss.pk)
    assert list(role.members.values_list("username", flat=True)) == ["volunteer"]


def test_the_group_list_counts_in_fixed_queries(boss, django_assert_max_num_queries):
    for n in range(3):
        group = make_group(f"G{n}")
        make_queue(f"Q{n}a", group=group)
        make_queue(f"Q{n}b", group=group)
        admin.grant(group, [Permission.RO, Permission.RW], agent=boss)
    with django_assert_max_num_queries(6):
        page = ga.list_groups(boss)
    counts = {g.name: (g.queue_count, g.grant_count) for g in page.rows}
    assert counts == {"G0": (2, 2), "G1": (2, 2), "G2": (2, 2)}
    assert [g.name for g in ga.list_groups(boss, query="g1").rows] == ["G1"]
    with pytest.raises(InvalidInput):
        ga.list_groups(boss, page=9)


# --- the pages --------------------------------------------------------------------


def test_the_pages_are_for_administrators_only(client):
    group = make_group("Support")
    role = admin.create_role("Night")
    client.force_login(make_agent("plain"))
    for url in (
        reverse("admin-groups"),
        reverse("admin-group-new"),
        reverse("admin-group-edit", args=[group.pk]),
        reverse("admin-roles"),
        reverse("admin-role-new"),
        reverse("admin-role", args=[role.pk]),
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("admin-role-members", args=[role.pk]), {"login": "plain"}
    )
    assert response.status_code == 403
    assert not role.members.exists()


def test_the_index_links_groups_and_roles(boss_client):
    body = boss_client.get(reverse("admin-index")).content.decode()
    assert "Groups and roles" in body
    assert reverse("admin-groups") in body and reverse("admin-roles") in body


def test_a_group_is_created_listed_and_switched_off_over_http(boss_client):
    response = boss_client.post(
        reverse("admin-group-new"), {"name": "Support", "comment": "first"}
    )
    group = Group.objects.get(name="Support")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin-group-edit", args=[group.pk])
    body = boss_client.get(reverse("admin-groups"), {"q": "supp"}).content.decode()
    assert "Support" in body
    assert reverse("admin-permissions-group", args=[group.pk]) in body
    response = boss_client.post(
        reverse("admin-group-edit", args=[group.pk]),
        {"name": "Helpdesk", "comment": "first"},
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "Helpdesk" and not group.valid


def test_bad_input_is_a_form_error_not_a_traceback(boss_client):
    make_group("Support")
    response = boss_client.post(reverse("admin-group-new"), {"name": "Support"})
    assert response.status_code == 409
    assert 'role="alert"' in response.content.decode()
    assert "exists already" in response.content.decode()
    response = boss_client.post(reverse("admin-role-new"), {"name": " "})
    assert response.status_code == 400 and "needs a name" in response.content.decode()
    assert boss_client.get(reverse("admin-groups"), {"page": "7"}).status_code == 400
    assert boss_client.get(reverse("admin-groups"), {"page": "x"}).status_code == 200


def test_role_members_over_http(boss_client):
    role = admin.create_role("Night")
    volunteer = make_agent("volunteer")
    url = reverse("admin-role-members", args=[role.pk])
    response = boss_client.post(url, {"login": "nobody"})
    assert response.status_code == 404
    body = response.content.decode()
    assert "No agent with login" in body and 'value="nobody"' in body
    response = boss_client.post(url, {"login": "volunteer"})
    assert response.status_code == 302
    assert list(role.members.all()) == [volunteer]
    body = boss_client.get(reverse("admin-role", args=[role.pk])).content.decode()
    assert "volunteer" in body
    assert boss_client.post(url, {"remove": str(volunteer.pk)}).status_code == 302
    assert not role.members.exists()
    assert boss_client.get(url).status_code == 405


def test_the_role_page_links_its_grants(boss_client):
    group = make_group("Support")
    role = admin.create_role("Night")
    admin.grant(group, [Permission.RW], role=role)
    body = boss_client.get(reverse("admin-role", args=[role.pk])).content.decode()
    assert reverse("admin-permissions-group", args=[group.pk]) + "?kind=role" in body


def test_the_screen_switching_a_group_off_takes_the_lock_and_says_so(boss_client):
    queue = make_queue("Billing", group=make_group("Support"))
    volunteer = make_agent("volunteer")
    admin.grant(queue.group, [Permission.RW], agent=volunteer)
    ticket = make_ticket(queue)
    do_lock_to(None, ticket, volunteer)
    response = boss_client.post(
        reverse("admin-group-edit", args=[queue.group_id]),
        {"name": "Support", "comment": ""},
        follow=True,
    )
    assert "1 ticket was taken from agents" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.owner is None and not ticket.locked


def test_the_screen_removing_a_member_takes_the_lock(boss_client):
    queue = make_queue("Billing")
    role = admin.create_role("Night")
    admin.grant(queue.group, [Permission.RW], role=role)
    volunteer = make_agent("volunteer")
    admin.add_role_member(role, volunteer)
    ticket = make_ticket(queue)
    do_lock_to(None, ticket, volunteer)
    response = boss_client.post(
        reverse("admin-role-members", args=[role.pk]),
        {"remove": str(volunteer.pk)},
        follow=True,
    )
    assert "1 ticket was taken from agents" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.owner is None and not ticket.locked


def test_the_role_list_counts_in_fixed_queries(boss, django_assert_max_num_queries):
    group = make_group("Support")
    for n in range(3):
        role = admin.create_role(f"R{n}")
        admin.grant(group, [Permission.RO], role=role)
        for m in range(2):
            admin.add_role_member(role, make_agent(f"a{n}{m}"))
    with django_assert_max_num_queries(6):
        page = ga.list_roles(boss)
    counts = {r.name: (r.member_count, r.grant_count) for r in page.rows}
    assert counts == {"R0": (2, 1), "R1": (2, 1), "R2": (2, 1)}
