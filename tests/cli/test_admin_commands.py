"""queue, agent, group, role, grant and revoke: what they change and what they print."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model

from helpline.actions import admin
from helpline.actions.access import group_permissions
from helpline.models import Grant, Group, Permission, Queue, Role
from tests.cli import fails, run
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


def fresh(agent):
    return get_user_model().objects.get(pk=agent.pk)


# --- group ---------------------------------------------------------------------------
def test_group_add_creates_the_group_and_list_shows_its_queue_count():
    out = run("group", "add", "Sales", "--comment", "Pre-sales questions")
    assert out == "Group 'Sales' created.\n"
    make_queue("Leads", group=Group.objects.get(name="Sales"))
    rows = json.loads(run("group", "list", "--json"))
    assert rows == [
        {"name": "Sales", "valid": True, "queues": 1, "comment": "Pre-sales questions"}
    ]
    assert "Sales" in run("group", "list")


def test_adding_a_group_twice_is_a_conflict_with_exit_status_1():
    run("group", "add", "Sales")
    error = fails("group", "add", "Sales")
    assert error.returncode == 1
    assert "exists already" in str(error)


# --- queue ---------------------------------------------------------------------------
def test_queue_add_with_an_address_creates_the_queue_and_its_system_address(group):
    out = run(
        "queue",
        "add",
        "Billing",
        "--group",
        "Support",
        "--email",
        "Billing@Example.org",
        "--display-name",
        "Billing team",
        "--follow-up",
        "reject",
        "--follow-up-lock",
        "--unlock-timeout",
        "30",
        "--comment",
        "Invoices",
    )
    queue = Queue.objects.select_related("system_address").get(name="Billing")
    assert out == (
        "Queue 'Billing' created in group 'Support' with address billing@example.org.\n"
    )
    assert queue.group == group
    assert queue.system_address.email == "billing@example.org"
    assert queue.system_address.display_name == "Billing team"
    assert (queue.follow_up, queue.follow_up_lock, queue.unlock_timeout) == (
        "reject",
        True,
        30,
    )
    assert queue.comment == "Invoices"


def test_queue_add_in_an_unknown_group_fails_and_creates_nothing():
    error = fails("queue", "add", "Billing", "--group", "Nope")
    assert str(error) == "No group named 'Nope'."
    assert error.returncode == 1
    assert not Queue.objects.exists()


def test_a_display_name_without_an_address_is_a_usage_error(group):
    error = fails(
        "queue", "add", "Billing", "--group", "Support", "--display-name", "B"
    )
    assert error.returncode == 2
    assert not Queue.objects.exists()


def test_a_negative_unlock_timeout_is_refused(group):
    error = fails("queue", "add", "B", "--group", "Support", "--unlock-timeout", "-5")
    assert "must be at least 0" in str(error)


def test_queue_list_counts_open_tickets_only(queue):
    from helpline.actions.tickets import close_ticket

    closer = make_agent()
    admin.grant(queue.group, [Permission.RW], agent=closer)
    make_ticket(queue)
    done = make_ticket(queue)
    close_ticket(closer, done.pk, note="answered")
    make_queue("Empty", group=queue.group, email="empty@example.org")
    rows = json.loads(run("queue", "list", "--json"))
    assert rows == [
        {
            "name": "Empty",
            "group": "Support",
            "system_address": "empty@example.org",
            "follow_up": "possible",
            "open_tickets": 0,
            "valid": True,
        },
        {
            "name": "Info",
            "group": "Support",
            "system_address": None,
            "follow_up": "possible",
            "open_tickets": 1,
            "valid": True,
        },
    ]
    table = run("queue", "list").splitlines()
    assert table[0].split() == [
        "NAME",
        "GROUP",
        "SYSTEM",
        "ADDRESS",
        "FOLLOW-UP",
        "OPEN",
    ]
    assert table[2].split() == ["Info", "Support", "-", "possible", "1"]


def test_queue_list_is_one_query_however_many_queues_and_tickets(
    django_assert_num_queries,
):
    group = make_group()
    for _ in range(2):
        make_ticket(make_queue(group=group))
    with django_assert_num_queries(1):
        few = json.loads(run("queue", "list", "--json"))
    for _ in range(18):
        make_ticket(make_queue(group=group, email=f"q{_}@example.org"))
    with django_assert_num_queries(1):
        many = json.loads(run("queue", "list", "--json"))
    assert (len(few), len(many)) == (2, 20)
    assert all(row["open_tickets"] == 1 for row in many)


def test_an_empty_queue_list_says_so():
    assert run("queue", "list") == "No queues.\n"
    assert json.loads(run("queue", "list", "--json")) == []


# --- agent ---------------------------------------------------------------------------
def test_agent_add_without_a_password_leaves_it_unusable():
    out = run("agent", "add", "dora", "--email", "dora@example.org")
    dora = get_user_model().objects.get(username="dora")
    assert "no usable password" in out
    assert not dora.has_usable_password()
    assert not dora.is_superuser
    assert dora.agent_profile is not None


def test_agent_add_reads_the_password_from_stdin():
    run(
        "agent",
        "add",
        "dora",
        "--email",
        "dora@example.org",
        "--first-name",
        "Dora",
        "--last-name",
        "Diaz",
        "--admin",
        "--password-stdin",
        stdin=io.StringIO("a long pass phrase\nignored second line\n"),
    )
    dora = get_user_model().objects.get(username="dora")
    assert dora.check_password("a long pass phrase")
    assert (dora.first_name, dora.last_name) == ("Dora", "Diaz")
    assert dora.is_superuser and dora.is_staff


def test_an_empty_password_on_stdin_is_refused():
    error = fails(
        "agent",
        "add",
        "dora",
        "--email",
        "dora@example.org",
        "--password-stdin",
        stdin=io.StringIO(""),
    )
    assert error.returncode == 2
    assert not get_user_model().objects.filter(username="dora").exists()


def test_a_weak_password_is_refused_with_the_validators_reason():
    error = fails(
        "agent",
        "add",
        "dora",
        "--email",
        "dora@example.org",
        "--password-stdin",
        stdin=io.StringIO("short\n"),
    )
    assert "too short" in str(error)
    assert error.returncode == 1


def test_agent_list_shows_admin_active_and_roles():
    make_agent("bea", is_admin=True)
    carl = make_agent("carl")
    for name in ("reviewers", "leads"):
        admin.add_role_member(admin.create_role(name), carl)
    rows = json.loads(run("agent", "list", "--json"))
    assert rows == [
        {
            "login": "bea",
            "email": "bea@example.org",
            "name": "",
            "admin": True,
            "active": True,
            "roles": [],
        },
        {
            "login": "carl",
            "email": "carl@example.org",
            "name": "",
            "admin": False,
            "active": True,
            "roles": ["leads", "reviewers"],
        },
    ]
    assert "leads, reviewers" in run("agent", "list")


# --- role ----------------------------------------------------------------------------
def test_role_members_can_be_added_and_removed():
    make_agent("dora")
    run("role", "add", "reviewers", "--comment", "Second pair of eyes")
    assert run("role", "member", "add", "reviewers", "dora") == (
        "dora is a member of role 'reviewers'.\n"
    )
    assert json.loads(run("role", "list", "--json")) == [
        {
            "name": "reviewers",
            "valid": True,
            "members": ["dora"],
            "comment": "Second pair of eyes",
        }
    ]
    run("role", "member", "remove", "reviewers", "dora")
    assert not Role.objects.get(name="reviewers").members.exists()


def test_adding_an_unknown_agent_to_a_role_names_the_login():
    admin.create_role("reviewers")
    error = fails("role", "member", "add", "reviewers", "ghost")
    assert str(error) == "No agent with login 'ghost'."


# --- grant and revoke ----------------------------------------------------------------
def test_grant_to_an_agent_gives_access_and_revoke_takes_it_back(queue):
    dora = make_agent("dora")
    out = run("grant", "--agent", "dora", "--group", "Support", "ro", "note")
    assert out == "Granted ro, note on group 'Support' to agent dora.\n"
    assert group_permissions(fresh(dora)) == {queue.group_id: {"ro", "note"}}
    out = run("revoke", "--agent", "dora", "--group", "Support", "note")
    assert "Revoked note" in out
    assert group_permissions(fresh(dora)) == {queue.group_id: {"ro"}}


def test_grant_to_a_role_reaches_its_members(queue):
    dora = make_agent("dora")
    admin.add_role_member(admin.create_role("leads"), dora)
    run("grant", "--role", "leads", "--group", "Support", "rw", "override_lock")
    assert group_permissions(fresh(dora)) == {queue.group_id: {"rw", "override_lock"}}


def test_granting_what_is_held_already_says_so_and_adds_nothing(group):
    make_agent("dora")
    run("grant", "--agent", "dora", "--group", "Support", "ro")
    out = run("grant", "--agent", "dora", "--group", "Support", "ro", "rw")
    assert out == (
        "Granted rw on group 'Support' to agent dora.\n"
        "Agent dora already held ro on group 'Support'.\n"
    )
    assert Grant.objects.count() == 2


def test_revoking_what_is_not_held_changes_nothing(group):
    make_agent("dora")
    out = run("revoke", "--agent", "dora", "--group", "Support", "rw")
    assert "nothing changed" in out


def test_an_unknown_permission_is_a_usage_error_listing_the_valid_ones(group):
    make_agent("dora")
    error = fails("grant", "--agent", "dora", "--group", "Support", "ro", "write")
    assert error.returncode == 2
    assert str(error) == (
        "Unknown permission 'write'; the permissions are: ro, move_into, create, "
        "note, owner, priority, rw, override_lock, redact, manage."
    )
    assert not Grant.objects.exists()
    assert fails("revoke", "--agent", "dora", "--group", "Support", "x").returncode == 2


def test_a_grant_names_an_agent_or_a_role_not_both(group):
    make_agent("dora")
    admin.create_role("leads")
    error = fails(
        "grant", "--agent", "dora", "--role", "leads", "--group", "Support", "ro"
    )
    assert "not allowed with argument" in str(error)
    assert not Grant.objects.exists()


def test_granting_on_an_unknown_group_fails():
    make_agent("dora")
    error = fails("grant", "--agent", "dora", "--group", "Nope", "ro")
    assert str(error) == "No group named 'Nope'."
