"""Delegated administration: ``manage`` on a group lets a coordinator grant and
withdraw that group's permissions to agents (not ``manage``, not roles) and edit the
templates of its queues — nothing else, at every entry point."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.actions import admin
from helpline.actions import permission_admin as pa
from helpline.actions import queue_templates as qt
from helpline.actions.access import may_in_queue
from helpline.errors import NotFound, PermissionDenied
from helpline.models import AdminAuditEntry, Grant, Permission, Template
from tests.support import make_agent, make_group, make_queue
from tests.web import web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    ours, theirs = make_group("Ours"), make_group("Theirs")
    our_queue = make_queue("OurQueue", group=ours)
    their_queue = make_queue("TheirQueue", group=theirs)
    lead = make_agent("lead")
    admin.grant(ours, [Permission.MANAGE], agent=lead)
    newbie = make_agent("newbie")
    return {
        "ours": ours,
        "theirs": theirs,
        "our_queue": our_queue,
        "their_queue": their_queue,
        "lead": lead,
        "newbie": newbie,
    }


def test_manage_is_explicit_and_opens_no_ticket(setup):
    assert Permission.MANAGE in Permission.explicit_only()
    lead = setup["lead"]
    assert not may_in_queue(lead, setup["our_queue"], Permission.RO)
    rw = make_agent("rw")
    admin.grant(setup["ours"], [Permission.RW], agent=rw)
    assert pa.managed_group_ids(rw) == frozenset()
    assert pa.managed_group_ids(lead) == {setup["ours"].pk}


def test_through_a_role_and_only_while_valid(setup):
    member = make_agent("member")
    role = admin.create_role("Coordinators")
    admin.add_role_member(role, member)
    admin.grant(setup["theirs"], [Permission.MANAGE], role=role)
    assert pa.managed_group_ids(member) == {setup["theirs"].pk}
    role.valid = False
    role.save(update_fields=["valid"])
    assert pa.managed_group_ids(member) == frozenset()
    member.is_active = False
    assert pa.managed_group_ids(member) == frozenset()


def test_coordinator_adds_and_removes_agents_of_its_group(setup):
    lead, newbie, ours = setup["lead"], setup["newbie"], setup["ours"]
    applied = pa.bulk_change_grants(
        lead,
        pa.parse_changes(f"+a{newbie.pk}:{ours.pk}:rw +a{newbie.pk}:{ours.pk}:redact"),
    )
    assert applied.added == 2
    assert may_in_queue(newbie, setup["our_queue"], Permission.RW)
    assert AdminAuditEntry.objects.filter(actor_name="lead", action="granted").exists()
    page = pa.group_holders(lead, ours, permission="rw")
    assert [r.label for r in page.rows] == ["newbie"]
    applied = pa.bulk_change_grants(
        lead,
        pa.parse_changes(f"-a{newbie.pk}:{ours.pk}:rw -a{newbie.pk}:{ours.pk}:redact"),
    )
    assert applied.removed == 2


@pytest.mark.parametrize(
    "token",
    [
        "+a{newbie}:{theirs}:ro",  # another group
        "-a{lead}:{theirs}:ro",
        "+a{newbie}:{ours}:manage",  # manage itself
        "-a{lead}:{ours}:manage",
        "+r{role}:{ours}:ro",  # a role
    ],
)
def test_coordinator_cannot_touch_anything_else(setup, token):
    role = admin.create_role("R")
    text = token.format(
        newbie=setup["newbie"].pk,
        lead=setup["lead"].pk,
        ours=setup["ours"].pk,
        theirs=setup["theirs"].pk,
        role=role.pk,
    )
    before = set(Grant.objects.values_list("pk", flat=True))
    # Mixed with an allowed change: nothing at all is saved.
    allowed = f"+a{setup['newbie'].pk}:{setup['ours'].pk}:ro"
    with pytest.raises(PermissionDenied):
        pa.bulk_change_grants(setup["lead"], pa.parse_changes(f"{allowed} {text}"))
    assert set(Grant.objects.values_list("pk", flat=True)) == before


def test_coordinator_reads_only_its_group_and_no_agent_page(setup):
    lead = setup["lead"]
    assert pa.get_group_for(lead, setup["ours"].pk) == setup["ours"]
    with pytest.raises(PermissionDenied):
        pa.get_group_for(lead, setup["theirs"].pk)
    with pytest.raises(PermissionDenied):
        pa.group_holders(lead, setup["theirs"])
    with pytest.raises(PermissionDenied):
        pa.group_holders(lead, setup["ours"], kind="role")
    with pytest.raises(PermissionDenied):
        pa.agent_permissions(lead, setup["newbie"])
    with pytest.raises(PermissionDenied):
        pa.get_agent_for(lead, setup["newbie"].pk)
    assert pa.may_administer(lead)
    assert not pa.may_administer(setup["newbie"])


def test_coordinator_edits_only_its_queues_templates(setup):
    lead = setup["lead"]
    ours = Template.objects.create(name="Ours", type="answer", text="Hello")
    ours.queues.set([setup["our_queue"]])
    shared = Template.objects.create(name="Shared", type="answer", text="Hi")
    shared.queues.set([setup["our_queue"], setup["their_queue"]])
    theirs = Template.objects.create(name="Theirs", type="answer", text="Hey")
    theirs.queues.set([setup["their_queue"]])
    Template.objects.create(name="Nowhere", type="answer", text="x")
    assert [t.name for t in qt.editable_templates(lead)] == ["Ours"]
    qt.save_template_text(lead, ours.pk, subject="S", text="Hello {{ ticket.number }}")
    ours.refresh_from_db()
    assert ours.text == "Hello {{ ticket.number }}"
    assert AdminAuditEntry.objects.filter(
        actor_name="lead", action="changed", object_repr="Ours"
    ).exists()
    for other in (shared, theirs):
        with pytest.raises(NotFound):
            qt.save_template_text(lead, other.pk, subject="", text="changed")
        other.refresh_from_db()
        assert other.text != "changed"
    with pytest.raises(PermissionDenied):
        qt.save_template_text(setup["newbie"], ours.pk, subject="", text="x")
    boss = make_agent("boss", is_admin=True)
    assert len(qt.editable_templates(boss)) == 4


def test_the_pages_refuse_the_same(client, settings, setup):
    web_settings(settings)
    client.force_login(setup["lead"])
    assert reverse("admin-permissions") in client.get("/").content.decode()
    index = client.get(reverse("admin-permissions")).content.decode()
    assert "Ours" in index and "Theirs" not in index
    theirs = reverse("admin-permissions-group", args=[setup["theirs"].pk])
    assert client.get(theirs).status_code == 403
    posted = client.post(
        theirs, {"changes": f"+a{setup['newbie'].pk}:{setup['theirs'].pk}:ro"}
    )
    assert posted.status_code == 403
    agent_page = reverse("admin-permissions-agent", args=[setup["newbie"].pk])
    assert client.get(agent_page).status_code == 403
    assert not Grant.objects.filter(agent=setup["newbie"]).exists()
    ours = reverse("admin-permissions-group", args=[setup["ours"].pk])
    body = client.get(ours).content.decode()
    assert 'value="role"' not in body
    template = Template.objects.create(name="T", type="answer", text="Hi")
    template.queues.set([setup["our_queue"]])
    url = reverse("admin-template", args=[template.pk])
    bad = client.post(url, {"subject": "", "text": "Hi {{ nope }}"})
    assert bad.status_code == 400
    assert "Unknown placeholder" in bad.content.decode()
    assert client.post(url, {"subject": "S", "text": "Hi there"}).status_code == 302
    template.refresh_from_db()
    assert template.text == "Hi there"
