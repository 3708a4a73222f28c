"""Permissions at scale over the API: the same rules as the screens."""

from __future__ import annotations

import pytest

from helpline.actions import admin
from helpline.models import AdminAuditEntry, Grant, Permission
from tests.api.conftest import client_for, error_code
from tests.support import make_agent, make_group

pytestmark = pytest.mark.django_db


def test_administrator_reads_and_changes_many_grants():
    boss = make_agent("boss", is_admin=True)
    group = make_group("Support")
    agents = [make_agent(f"a{i:03}") for i in range(120)]
    api = client_for(boss)
    changes = [f"+a{a.pk}:{group.pk}:ro" for a in agents]
    response = api.post("/grants", {"changes": changes})
    assert response.status_code == 200, response.content
    assert response.json() == {"added": 120, "removed": 0, "tickets_withdrawn": 0}
    assert AdminAuditEntry.objects.filter(action="granted").count() == 120
    listed = api.get(f"/groups/{group.pk}/grants?permission=ro&per_page=100").json()
    assert listed["total"] == 120 and listed["pages"] == 2
    assert listed["holders"][0]["direct"] == ["ro"]
    bad = api.post("/grants", {"changes": ["+a1:zz"]})
    assert bad.status_code == 422 and error_code(bad)
    assert api.get(f"/groups/{group.pk}/grants?per_page=7").status_code == 422


def test_coordinator_and_outsider():
    ours, theirs = make_group("Ours"), make_group("Theirs")
    lead, newbie = make_agent("lead"), make_agent("newbie")
    admin.grant(ours, [Permission.MANAGE], agent=lead)
    api = client_for(lead)
    ok = api.post("/grants", {"changes": [f"+a{newbie.pk}:{ours.pk}:rw"]})
    assert ok.status_code == 200
    for token in (f"+a{newbie.pk}:{theirs.pk}:rw", f"+a{newbie.pk}:{ours.pk}:manage"):
        refused = api.post("/grants", {"changes": [token]})
        assert refused.status_code == 403
    assert api.get(f"/groups/{theirs.pk}/grants").status_code == 403
    assert api.get(f"/groups/{ours.pk}/grants?kind=role").status_code == 403
    outsider = client_for(newbie)
    assert outsider.get(f"/groups/{ours.pk}/grants").status_code == 403
    assert outsider.post("/grants", {"changes": []}).status_code == 403
    assert list(
        Grant.objects.filter(agent=newbie).values_list("permission", flat=True)
    ) == ["rw"]
