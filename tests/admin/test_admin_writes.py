"""Writes made on the administration screens go through ``actions.admin``: they are
validated (errors are form errors, never server errors), written to the
administration log without secrets, and agents replace Django's users and groups."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group as DjangoGroup
from django.contrib.auth.models import User
from django.urls import reverse

from helpline.actions import admin as admin_actions
from helpline.models import (
    AdminAuditEntry,
    AgentProfile,
    Grant,
    MailAccount,
    Queue,
    StateType,
    TicketState,
)
from tests.support import make_agent, make_group, make_queue, make_ticket


@pytest.fixture
def boss(db, client):
    user = make_agent("boss", is_admin=True)
    client.force_login(user)
    return user


def _queue_form(name: str, group_id: int) -> dict[str, str]:
    return {
        "name": name,
        "group": str(group_id),
        "follow_up": "possible",
        "unlock_timeout": "0",
        "valid": "on",
    }


@pytest.mark.django_db
def test_a_sub_queue_of_a_missing_parent_is_a_form_error(boss, client):
    group = make_group("g")
    response = client.post(
        reverse("admin:helpline_queue_add"), _queue_form("Nowhere::Child", group.pk)
    )
    assert response.status_code == 200
    assert "Create the parent queue" in response.content.decode()
    assert not Queue.objects.filter(name="Nowhere::Child").exists()


@pytest.mark.django_db
def test_a_queue_is_created_and_renamed_with_its_children_and_logged(boss, client):
    group = make_group("g")
    response = client.post(
        reverse("admin:helpline_queue_add"), _queue_form("Top", group.pk)
    )
    assert response.status_code == 302
    top = Queue.objects.get(name="Top")
    make_queue("Top::Sub", group=group)
    url = reverse("admin:helpline_queue_change", args=[top.pk])
    client.post(url, _queue_form("Head", group.pk))
    assert set(Queue.objects.values_list("name", flat=True)) == {"Head", "Head::Sub"}
    actions = list(
        AdminAuditEntry.objects.filter(actor=boss).values_list("action", flat=True)
    )
    assert "created" in actions and "renamed" in actions


@pytest.mark.django_db
def test_a_queue_cannot_be_moved_below_itself(boss, client):
    group = make_group("g")
    top = make_queue("Top", group=group)
    url = reverse("admin:helpline_queue_change", args=[top.pk])
    response = client.post(url, _queue_form("Top::Inner", group.pk))
    assert response.status_code == 200
    assert "below itself" in response.content.decode()
    top.refresh_from_db()
    assert top.name == "Top"


@pytest.mark.django_db
def test_a_state_in_use_keeps_its_type(boss, client):
    make_ticket(make_queue(group=make_group()))
    state = TicketState.objects.get(name="new")
    url = reverse("admin:helpline_ticketstate_change", args=[state.pk])
    response = client.post(
        url, {"name": "new", "type": StateType.CLOSED, "valid": "on"}
    )
    assert response.status_code == 200
    assert "its type cannot change" in response.content.decode()
    state.refresh_from_db()
    assert state.type == StateType.NEW


@pytest.mark.django_db
def test_a_state_without_tickets_may_change_type(boss, client):
    state = TicketState.objects.create(name="spare", type=StateType.OPEN)
    url = reverse("admin:helpline_ticketstate_change", args=[state.pk])
    response = client.post(url, {"name": "spare", "type": StateType.CLOSED})
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.type == StateType.CLOSED


def _account_form(password: str = "") -> dict[str, str]:
    return {
        "name": "box",
        "protocol": MailAccount.Protocol.values[0],
        "host": "127.0.0.1",
        "port": "143",
        "username": "u",
        "password": password,
        "folder": "INBOX",
        "verify_tls": "on",
        "valid": "on",
    }


@pytest.mark.django_db
def test_a_mail_account_password_is_write_only(boss, client):
    add = client.post(reverse("admin:helpline_mailaccount_add"), _account_form())
    assert "needs a password" in add.content.decode()
    client.post(reverse("admin:helpline_mailaccount_add"), _account_form("S3cr3t-pw"))
    account = MailAccount.objects.get(name="box")
    url = reverse("admin:helpline_mailaccount_change", args=[account.pk])
    page = client.get(url)
    assert "S3cr3t-pw" not in page.content.decode()
    assert "password" not in page.context["adminform"].form.initial
    form = _account_form()  # left blank: kept, for the server it was given for
    form["host"] = "127.0.0.2"
    refused = client.post(url, form)
    assert "Type the password again" in refused.content.decode()
    account.refresh_from_db()
    assert account.host == "127.0.0.1"
    form["host"], form["folder"] = "127.0.0.1", "Archive"
    assert client.post(url, form).status_code == 302
    account.refresh_from_db()
    assert (account.folder, account.password) == ("Archive", "S3cr3t-pw")
    logged = AdminAuditEntry.objects.filter(object_type="mail account")
    assert logged.count() == 2
    assert all("S3cr3t-pw" not in str(e.before) + str(e.after) for e in logged)


@pytest.mark.django_db
def test_grants_edited_on_a_group_go_through_grant_and_revoke(boss, client):
    group = make_group("g")
    alice = make_agent("alice")
    url = reverse("admin:helpline_group_change", args=[group.pk])
    base = {
        "name": "g",
        "valid": "on",
        "grants-INITIAL_FORMS": "0",
        "grants-TOTAL_FORMS": "1",
        "grants-0-agent": str(alice.pk),
        "grants-0-permission": "ro",
    }
    assert client.post(url, base).status_code == 302
    grant = Grant.objects.get(agent=alice)
    assert AdminAuditEntry.objects.filter(actor=boss, action="granted").exists()
    client.post(
        url,
        {
            "name": "g",
            "valid": "on",
            "grants-INITIAL_FORMS": "1",
            "grants-TOTAL_FORMS": "1",
            "grants-0-id": str(grant.pk),
            "grants-0-group": str(group.pk),
            "grants-0-agent": str(alice.pk),
            "grants-0-permission": "ro",
            "grants-0-DELETE": "on",
        },
    )
    assert not Grant.objects.filter(agent=alice).exists()
    assert AdminAuditEntry.objects.filter(actor=boss, action="revoked").exists()


@pytest.mark.django_db
def test_role_members_change_through_the_actions(boss, client):
    role = admin_actions.create_role("leads")
    alice = make_agent("alice")
    url = reverse("admin:helpline_role_change", args=[role.pk])
    client.post(url, {"name": "leads", "valid": "on", "members": [str(alice.pk)]})
    assert list(role.members.all()) == [alice]
    entry = AdminAuditEntry.objects.get(actor=boss, action="member added")
    assert entry.after == {"agent": "alice"}


@pytest.mark.django_db
def test_deleting_a_state_in_use_names_no_ticket(boss, client):
    make_ticket(make_queue(group=make_group()), title="Private matter of X")
    state = TicketState.objects.get(name="new")
    url = reverse("admin:helpline_ticketstate_delete", args=[state.pk])
    page = client.get(url).content.decode()
    assert "Private matter" not in page
    assert "1 tickets" in page


@pytest.mark.django_db
def test_django_users_and_groups_are_replaced_by_agents(boss, client):
    assert not admin.site.is_registered(User)
    assert not admin.site.is_registered(DjangoGroup)
    role = admin_actions.create_role("night")
    response = client.post(
        reverse("admin:helpline_agentaccount_add"),
        {
            "username": "carol",
            "email": "carol@example.org",
            "is_active": "on",
            "new_password": "a-Long-enough-pass-42",
            "roles": [str(role.pk)],
        },
    )
    assert response.status_code == 302
    carol = User.objects.get(username="carol")
    assert AgentProfile.objects.filter(user=carol).exists()
    assert carol.check_password("a-Long-enough-pass-42")
    assert not carol.is_superuser
    assert list(role.members.all()) == [carol]
    page = client.get(reverse("admin:helpline_agentaccount_change", args=[carol.pk]))
    assert "a-Long-enough-pass-42" not in page.content.decode()
    client.post(
        reverse("admin:helpline_agentaccount_changelist"),
        {"action": "deactivate", "_selected_action": [carol.pk]},
    )
    carol.refresh_from_db()
    assert not carol.is_active
    logged = AdminAuditEntry.objects.filter(actor=boss, object_type="agent")
    assert {"created", "changed"} <= set(logged.values_list("action", flat=True))
    assert all("a-Long" not in str(e.before) + str(e.after) for e in logged)


@pytest.mark.django_db
def test_a_weak_password_or_self_deactivation_is_a_form_error(boss, client):
    url = reverse("admin:helpline_agentaccount_change", args=[boss.pk])
    self_off = client.post(url, {"email": "boss@example.org"})
    assert self_off.status_code == 200
    assert (
        "yourself" in self_off.content.decode()
    )  # is_active and is_admin left unticked
    boss.refresh_from_db()
    assert boss.is_active and boss.is_superuser
    response = client.post(
        url,
        {
            "email": "boss@example.org",
            "is_active": "on",
            "is_admin": "on",
            "new_password": "1",
        },
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()


@pytest.mark.django_db
def test_the_administration_log_is_read_only(boss, client):
    make_group("g")
    entry = AdminAuditEntry.objects.first()
    assert entry is not None
    url = reverse("admin:helpline_adminauditentry_change", args=[entry.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "x"}).status_code == 403
    delete = reverse("admin:helpline_adminauditentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AdminAuditEntry.objects.filter(pk=entry.pk).exists()
