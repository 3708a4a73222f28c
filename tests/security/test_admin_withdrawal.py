"""The administration screens and access withdrawal: exchanging grants never withdraws
access in between; what a change withdrew is reported; staff without the right to
change grants cannot use the permission grid; SMTP errors of unreadable mail hide its
addresses."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from helpline.actions import admin, locks, tickets
from helpline.models import Grant, Permission, TicketWatcher
from tests.support import make_agent, make_group, make_queue
from tests.web import email_ticket, web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def setup():
    group = make_group("Support")
    queue = make_queue("Info", group=group, email="info@helpline.test")
    alice = make_agent("alice")
    boss = make_agent("boss", is_admin=True)
    admin.grant(group, [Permission.RO, Permission.OWNER], agent=alice)
    ticket = email_ticket(queue)
    other = email_ticket(queue, title="Other")
    # alice owns one ticket (owner + ro is enough to be made owner) and watches another
    admin.grant(group, [Permission.RW], agent=boss)
    locks.set_owner(boss, ticket.pk, alice)
    tickets.watch_ticket(alice, other.pk)
    admin.revoke(group, [Permission.RW], agent=boss)
    client = Client()
    client.force_login(boss)
    return group, queue, alice, boss, ticket, other, client


def test_permission_screen_upgrading_ro_to_rw_keeps_what_the_agent_holds(setup):
    """Giving alice rw instead of ro on the permission screen (which replaced the
    grid) never leaves her without read access: additions are made before
    removals."""
    group, queue, alice, boss, ticket, other, client = setup
    url = reverse("admin-permissions-group", args=[group.pk])
    changes = f"+a{alice.pk}:{group.pk}:rw -a{alice.pk}:{group.pk}:ro"
    response = client.post(url, {"changes": changes})
    assert response.status_code == 302
    assert set(
        Grant.objects.filter(agent=alice).values_list("permission", flat=True)
    ) == {Permission.RW, Permission.OWNER}
    ticket.refresh_from_db()
    assert ticket.owner_id == alice.pk, "upgrade ro->rw took alice's ownership"
    assert TicketWatcher.objects.filter(agent=alice, ticket=other).exists()


def test_group_inline_changing_ro_to_rw_keeps_what_the_agent_holds(setup):
    group, queue, alice, boss, ticket, other, client = setup
    ro = Grant.objects.get(agent=alice, permission=Permission.RO)
    owner = Grant.objects.get(agent=alice, permission=Permission.OWNER)
    url = reverse("admin:helpline_group_change", args=[group.pk])
    data = {
        "name": "Support",
        "valid": "on",
        "grants-INITIAL_FORMS": "2",
        "grants-TOTAL_FORMS": "2",
        "grants-0-id": str(ro.pk),
        "grants-0-group": str(group.pk),
        "grants-0-agent": str(alice.pk),
        "grants-0-permission": "rw",
        "grants-1-id": str(owner.pk),
        "grants-1-group": str(group.pk),
        "grants-1-agent": str(alice.pk),
        "grants-1-permission": "owner",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    assert set(
        Grant.objects.filter(agent=alice).values_list("permission", flat=True)
    ) == {Permission.RW, Permission.OWNER}
    ticket.refresh_from_db()
    assert ticket.owner_id == alice.pk, "changing ro->rw took alice's ownership"
    assert TicketWatcher.objects.filter(agent=alice, ticket=other).exists()


def test_role_admin_reports_what_removing_a_member_withdrew(setup):
    """docs/web.md / issue 13.2: the admin site reports what a change withdrew."""
    group, queue, alice, boss, ticket, other, client = setup
    Grant.objects.filter(agent=alice).delete()  # direct grants gone (no signal) ...
    role = admin.create_role("Support staff")
    admin.grant(group, [Permission.RO, Permission.OWNER], role=role)
    admin.add_role_member(role, alice)
    url = reverse("admin:helpline_role_change", args=[role.pk])
    response = client.post(url, {"name": "Support staff", "valid": "on"}, follow=True)
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.owner_id is None  # withdrawn indeed
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    shown += [str(m) for m in response.context["messages"]] if response.context else []
    assert any("Access withdrawn" in m for m in shown), shown


def test_agent_admin_reports_what_removing_a_role_withdrew(setup):
    group, queue, alice, boss, ticket, other, client = setup
    Grant.objects.filter(agent=alice).delete()
    role = admin.create_role("Support staff")
    admin.grant(group, [Permission.RO, Permission.OWNER], role=role)
    admin.add_role_member(role, alice)
    url = reverse("admin:helpline_agentaccount_change", args=[alice.pk])
    response = client.post(
        url,
        {"email": "alice@example.org", "is_active": "on", "roles": []},
        follow=True,
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.owner_id is None
    shown = [str(m) for m in response.context["messages"]]
    assert any("Access withdrawn" in m for m in shown), shown
