"""Queues with their counts, templates, and /me."""

from __future__ import annotations

import pytest

from helpline.actions import admin, tickets
from helpline.blobstore import store_blob
from helpline.models import Permission, Template, TemplateAttachment
from tests.api.conftest import error_code, queries_for
from tests.support import make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


def test_queues_come_with_their_open_and_new_counts(desk):
    make_queue("Hidden")
    second = make_queue("Info::Second", group=desk.queue.group)
    new = make_ticket(desk.queue)
    opened = make_ticket(desk.queue)
    tickets.set_state(desk.agent, opened.pk, "open")
    closed = make_ticket(desk.queue)
    tickets.close_ticket(desk.agent, closed.pk, note="done")
    make_ticket(second)
    assert new.pk
    assert desk.api.get("/queues").json() == [
        {"name": "Info", "group": "Support", "comment": "", "open": 2, "new": 1},
        {
            "name": "Info::Second",
            "group": "Support",
            "comment": "",
            "open": 1,
            "new": 1,
        },
    ]


def test_the_queue_list_costs_one_query_however_many_queues(desk):
    make_ticket(desk.queue)
    one = queries_for(desk.api, "/queues")
    for i in range(10):
        queue = make_queue(f"Info::{i}", group=make_group(f"g{i}"))
        admin.grant(queue.group, [Permission.RO], agent=desk.agent)
        make_ticket(queue)
    assert len(desk.api.get("/queues").json()) == 11
    eleven = queries_for(desk.api, "/queues")
    assert len(eleven) == len(one)
    # Queues and counts together: one query reads helpline_queue and the tickets.
    assert len([sql for sql in eleven if "helpline_queue" in sql]) == 1


def test_templates_of_a_queue(desk):
    thanks = Template.objects.create(
        name="thanks", type="answer", subject="Thanks", text="Thank you."
    )
    thanks.queues.add(desk.queue)
    TemplateAttachment.objects.create(
        template=thanks, blob=store_blob(b"form"), filename="form.pdf"
    )
    Template.objects.create(name="elsewhere", type="answer", text="x")
    old = Template.objects.create(name="old", type="answer", text="x", valid=False)
    old.queues.add(desk.queue)
    assert desk.api.get("/queues/Info/templates").json() == [
        {
            "name": "thanks",
            "type": "answer",
            "subject": "Thanks",
            "text": "Thank you.",
            "attachments": ["form.pdf"],
        }
    ]
    response = desk.api.get("/queues/Nope/templates")
    assert (response.status_code, error_code(response)) == (404, "not_found")


def test_me_tells_who_and_what_in_which_queue(desk):
    make_queue("Info::Sub", group=desk.queue.group)
    other = make_queue("Sales")
    admin.grant(other.group, [Permission.CREATE, Permission.RO], agent=desk.agent)
    me = desk.api.get("/me").json()
    assert (me["login"], me["email"], me["auth"]) == (
        "alice",
        "alice@example.org",
        "token",
    )
    assert me["token"]["name"] == "tests"
    assert me["queues"] == [
        {"queue": "Info", "permissions": ["rw"]},
        {"queue": "Info::Sub", "permissions": ["rw"]},
        {"queue": "Sales", "permissions": ["ro", "create"]},
    ]
