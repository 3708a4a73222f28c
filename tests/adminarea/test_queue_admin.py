"""Queues in Helpline's own administration area (docs/administration.md "Queues"):
the domain layer (who may, audit, bad input, the creator sees its new queue) and
the pages over HTTP."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpline.actions import admin
from helpline.actions import queue_admin as qa
from helpline.actions.access import may_in_queue, readable_queue_ids
from helpline.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from helpline.models import (
    AdminAuditEntry,
    AutoResponse,
    Grant,
    Permission,
    Queue,
    Salutation,
    Template,
)
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


def _values(queue: Queue, **changes):
    values = {name: getattr(queue, name) for name in qa.QUEUE_FIELDS}
    values.update(changes)
    return values


# --- the domain layer -------------------------------------------------------------


def test_only_administrators_touch_queues(boss):
    queue = make_queue("Support")
    plain = make_agent("plain")
    lead = make_agent("lead")
    admin.grant(queue.group, [Permission.MANAGE, Permission.RW], agent=lead)
    for who in (plain, lead, None):
        with pytest.raises(PermissionDenied):
            qa.list_queues(who)
        with pytest.raises(PermissionDenied):
            qa.get_queue_for(who, queue.pk)
        with pytest.raises(PermissionDenied):
            qa.save_queue_settings(who, queue.pk, {"unlock_timeout": 5})
        with pytest.raises(PermissionDenied):
            qa.create_queue_for(
                who, {"name": "Sneaky", "group": queue.group, "follow_up": "possible"}
            )
    queue.refresh_from_db()
    assert queue.unlock_timeout == 0
    assert not Queue.objects.filter(name="Sneaky").exists()


def test_a_change_is_saved_and_audited_with_before_and_after(boss):
    queue = make_queue("Support")
    other = make_group("Second level")
    hello = admin.save_configuration(
        boss, Salutation(name="Hello", text="Hello {{ customer.name }},"), changed=[]
    )
    qa.save_queue_settings(
        boss,
        queue.pk,
        _values(
            queue,
            group=other,
            salutation=hello,
            follow_up="reject",
            follow_up_lock=True,
            unlock_timeout=30,
            valid=False,
        ),
    )
    queue.refresh_from_db()
    assert (queue.group, queue.salutation, queue.follow_up) == (other, hello, "reject")
    assert queue.follow_up_lock and queue.unlock_timeout == 30 and not queue.valid
    entry = AdminAuditEntry.objects.filter(
        action="changed", object_repr="Support"
    ).get()
    assert entry.actor_name == "boss"
    assert entry.before["unlock_timeout"] == 0 and entry.after["unlock_timeout"] == 30
    assert entry.after["group"] == "Second level"
    # Nothing changed: nothing logged.
    qa.save_queue_settings(boss, queue.pk, _values(queue))
    assert AdminAuditEntry.objects.filter(action="changed").count() == 1


def test_moving_below_another_queue_renames_the_children(boss):
    top = make_queue("Top")
    make_queue("Top::Child", group=top.group)
    make_queue("Other", group=top.group)
    qa.save_queue_settings(boss, top.pk, {"name": "Other::Top"})
    assert set(Queue.objects.values_list("name", flat=True)) == {
        "Other",
        "Other::Top",
        "Other::Top::Child",
    }
    assert AdminAuditEntry.objects.filter(action="renamed").exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"name": "Top::Top"}, InvalidInput),  # below itself
        ({"name": "Nowhere::Top"}, NotFound),  # no such parent
        ({"name": "Taken"}, Conflict),
        ({"name": "a:: "}, InvalidInput),
        ({"unlock_timeout": 10**9}, InvalidInput),
        ({"follow_up": "maybe"}, InvalidInput),
        ({"junk_queue": "self"}, InvalidInput),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(boss, changes, error):
    top = make_queue("Top")
    make_queue("Taken", group=top.group)
    if changes.get("junk_queue") == "self":
        changes["junk_queue"] = top
    with pytest.raises(error) as exc:
        qa.save_queue_settings(boss, top.pk, changes)
    assert exc.value.message
    top.refresh_from_db()
    assert top.name == "Top" and top.junk_queue is None and top.unlock_timeout == 0
    assert not AdminAuditEntry.objects.filter(
        action__in=["changed", "renamed"]
    ).exists()


def test_retention_needs_the_right_to_handle_personal_data(boss):
    queue = make_queue("Support")
    # A superuser holds every Django permission: a staff administrator without it.
    limited = make_agent("limited")
    limited.is_staff = True
    limited.save(update_fields=["is_staff"])
    from django.contrib.auth.models import Permission as DjangoPermission

    limited.user_permissions.set(
        DjangoPermission.objects.filter(codename__in=["add_grant", "delete_grant"])
    )
    limited = type(limited).objects.get(pk=limited.pk)
    with pytest.raises(PermissionDenied):
        qa.save_queue_settings(limited, queue.pk, {"retention_days": 30})
    qa.save_queue_settings(limited, queue.pk, {"unlock_timeout": 15})
    queue.refresh_from_db()
    assert queue.retention_days is None and queue.unlock_timeout == 15


def test_a_new_queue_is_visible_to_the_administrator_who_made_it(boss):
    group = make_group("Nobody reads this yet")
    assert not may_in_queue(boss, Queue(group=group), Permission.RO)
    values = {"name": "Fresh", "group": group, "follow_up": "possible"}
    with pytest.raises(InvalidInput) as exc:
        qa.create_queue_for(boss, values)
    assert "would not see" in exc.value.message
    assert not Queue.objects.filter(name="Fresh").exists()
    queue = qa.create_queue_for(boss, values, give_creator_rw=True)
    assert queue.pk in readable_queue_ids(type(boss).objects.get(pk=boss.pk))
    assert Grant.objects.filter(agent=boss, group=group, permission="rw").exists()
    actions = set(AdminAuditEntry.objects.values_list("action", flat=True))
    assert {"granted", "created"} <= actions
    # A group the creator reads already: no grant is added.
    child = qa.create_queue_for(boss, {**values, "name": "Fresh::Child"})
    assert child.name == "Fresh::Child"
    assert Grant.objects.filter(agent=boss).count() == 1


def test_a_queue_in_a_switched_off_group_is_refused(boss):
    group = make_group("Old")
    group.valid = False
    group.save(update_fields=["valid"])
    with pytest.raises(InvalidInput):
        qa.create_queue_for(
            boss,
            {"name": "Lost", "group": group, "follow_up": "possible"},
            give_creator_rw=True,
        )
    assert not Queue.objects.filter(name="Lost").exists()


def test_the_list_pages_and_filters_in_a_fixed_number_of_queries(
    boss, django_assert_max_num_queries
):
    group = make_group("Support")
    for i in range(60):
        Queue.objects.create(name=f"Q{i:02}", group=group)
    with django_assert_max_num_queries(3):
        page = qa.list_queues(boss, page=2)
        names = [(q.name, q.group.name) for q in page.rows]
    assert page.total == 60 and page.pages == 2 and len(names) == 10
    assert [q.name for q in qa.list_queues(boss, query="q5").rows][:2] == [
        "Q50",
        "Q51",
    ]
    with pytest.raises(InvalidInput):
        qa.list_queues(boss, page=3)


def test_reach_lists_agents_and_roles_of_the_group(boss):
    queue = make_queue("Support")
    alice, gone = make_agent("alice"), make_agent("gone")
    role = admin.create_role("Night shift")
    admin.add_role_member(role, make_agent("bob"))
    admin.grant(queue.group, [Permission.RW, Permission.REDACT], agent=alice)
    admin.grant(queue.group, [Permission.RO], role=role)
    admin.grant(queue.group, [Permission.RO], agent=gone)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    reach = qa.queue_reach(boss, queue)
    found = {(h.label, tuple(sorted(h.permissions)), h.members) for h in reach.holders}
    assert found == {("alice", ("redact", "rw"), 0), ("Night shift", ("ro",), 1)}


# --- the pages ----------------------------------------------------------------------


def test_the_pages_are_for_administrators_only(client, boss):
    queue = make_queue("Support")
    plain = make_agent("plain")
    client.force_login(plain)
    assert reverse("admin-queues") not in client.get("/").content.decode()
    for url in (
        reverse("admin-index"),
        reverse("admin-queues"),
        reverse("admin-queue-new"),
        reverse("admin-queue", args=[queue.pk]),
        reverse("admin-texts", args=["salutations"]),
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("admin-queue", args=[queue.pk]), {"short_name": "Mine"}
    )
    assert response.status_code == 403
    assert Queue.objects.get(pk=queue.pk).name == "Support"
    client.force_login(boss)
    home = client.get("/").content.decode()
    assert f'href="{reverse("admin-index")}"' in home
    index = client.get(reverse("admin-index")).content.decode()
    for name in ("admin-queues", "admin-permissions", "admin-templates"):
        assert reverse(name) in index


def test_one_page_shows_everything_about_a_queue(boss_client):
    top = make_queue("Top")
    queue = make_queue("Top::Support", group=top.group)
    template = Template.objects.create(name="Thanks", type="answer", text="Thanks")
    template.queues.add(queue)
    response = AutoResponse.objects.create(
        name="Got it", type="reply", subject="Re", text="We got it"
    )
    response.queues.add(queue)
    alice = make_agent("alice")
    admin.grant(queue.group, [Permission.RW], agent=alice)
    html = boss_client.get(reverse("admin-queue", args=[queue.pk])).content.decode()
    assert reverse("admin-template", args=[template.pk]) in html
    assert reverse("admin-text", args=["auto-responses", response.pk]) in html
    assert reverse("admin-permissions-agent", args=[alice.pk]) in html
    assert 'value="Support"' in html  # the name below its parent
    assert f'<option value="{top.pk}" selected>Top</option>' in html
    for label in ("Follow-up lock", "Unlock timeout", "Junk queue", "Service level"):
        assert label in html


def test_saving_the_page_changes_the_queue(boss_client):
    queue = make_queue("Support")
    url = reverse("admin-queue", args=[queue.pk])
    data = {
        "short_name": "Customer support",
        "parent": "",
        "group": queue.group_id,
        "follow_up": "new_ticket",
        "follow_up_lock": "on",
        "unlock_timeout": "45",
        "retention_action": "delete",
        "valid": "on",
    }
    response = boss_client.post(url, data)
    assert response.status_code == 302
    queue.refresh_from_db()
    assert queue.name == "Customer support" and queue.follow_up == "new_ticket"
    assert queue.follow_up_lock and queue.unlock_timeout == 45


def test_bad_input_on_the_page_is_a_form_error_not_a_traceback(boss_client):
    queue = make_queue("Support")
    make_queue("Taken", group=queue.group)
    url = reverse("admin-queue", args=[queue.pk])
    base = {
        "short_name": "Taken",
        "group": queue.group_id,
        "follow_up": "possible",
        "unlock_timeout": "0",
        "retention_action": "delete",
    }
    response = boss_client.post(url, base)
    assert response.status_code == 400
    assert "exists already" in response.content.decode()
    response = boss_client.post(
        url, {**base, "short_name": "X", "unlock_timeout": "-4"}
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert Queue.objects.get(pk=queue.pk).name == "Support"


def test_creating_on_the_page_leaves_the_creator_able_to_see_the_queue(
    boss_client, boss
):
    group = make_group("Fresh group")
    data = {
        "short_name": "New one",
        "group": group.pk,
        "follow_up": "possible",
        "unlock_timeout": "0",
        "retention_action": "delete",
        "valid": "on",
    }
    refused = boss_client.post(reverse("admin-queue-new"), data)
    assert refused.status_code == 400
    assert "would not see" in refused.content.decode()
    response = boss_client.post(
        reverse("admin-queue-new"), {**data, "give_me_rw": "on"}
    )
    queue = Queue.objects.get(name="New one")
    assert response["Location"] == reverse("admin-queue", args=[queue.pk])
    tree = boss_client.get(reverse("dashboard")).content.decode()
    assert "New one" in tree
    assert may_in_queue(boss, queue, Permission.RW)


def test_the_pages_take_the_same_queries_however_many_queues_and_holders(
    boss_client,
):
    group = make_group("Support")
    queue = make_queue("Support", group=group)

    def counted(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert boss_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    pages = [reverse("admin-queues"), reverse("admin-queue", args=[queue.pk])]
    before = [counted(url) for url in pages]
    Queue.objects.bulk_create(
        [Queue(name=f"Support::Q{i:02}", group=group) for i in range(40)]
    )
    for i in range(30):
        admin.grant(group, [Permission.RO], agent=make_agent(f"agent{i:02}"))
    after = [counted(url) for url in pages]
    assert after == before


def test_giving_a_queue_to_another_group_withdraws_what_its_agents_held(boss):
    """An agent who reads the queue only through its old group loses its lock and
    ownership of the queue's tickets when the screen gives the queue to another
    group (actions/withdrawal.py, the same as every other way of losing access)."""
    from helpline.actions.locks import do_lock_to

    queue = make_queue("Support")
    volunteer = make_agent("volunteer")
    admin.grant(queue.group, [Permission.RW], agent=volunteer)
    ticket = make_ticket(queue)
    do_lock_to(None, ticket, volunteer)
    ticket.refresh_from_db()
    assert ticket.owner == volunteer and ticket.locked
    qa.save_queue_settings(boss, queue.pk, _values(queue, group=make_group("Other")))
    ticket.refresh_from_db()
    assert ticket.owner is None and not ticket.locked
    queue.refresh_from_db()
    assert not may_in_queue(volunteer, queue, "ro")
