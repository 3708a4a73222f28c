"""The permission screens over HTTP: who may open them, what they show, saving the
changes as one compact field, query counts that do not grow."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.actions import admin
from helpline.models import Grant, Permission
from tests.support import make_agent, make_group
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


def test_linked_from_the_navigation_for_administrators_only(client, boss):
    plain = make_agent("plain")
    client.force_login(plain)
    assert reverse("admin-permissions") not in client.get("/").content.decode()
    assert client.get(reverse("admin-permissions")).status_code == 403
    group = make_group("Support")
    page = client.get(reverse("admin-permissions-group", args=[group.pk]))
    assert page.status_code == 403
    posted = client.post(
        reverse("admin-permissions-group", args=[group.pk]),
        {"changes": f"+a{plain.pk}:{group.pk}:rw"},
    )
    assert posted.status_code == 403
    assert not Grant.objects.exists()
    client.force_login(boss)
    assert reverse("admin-permissions") in client.get("/").content.decode()


def test_group_page_shows_and_saves_only_the_changes(boss_client):
    group = make_group("Support")
    alice = make_agent("alice")
    role = admin.create_role("Leads")
    admin.add_role_member(role, alice)
    admin.grant(group, [Permission.OVERRIDE_LOCK], role=role)
    url = reverse("admin-permissions-group", args=[group.pk])
    body = boss_client.get(url, {"q": "ali"}).content.decode()
    assert f'data-grant="a{alice.pk}:{group.pk}:rw"' in body
    assert "Leads" in body
    response = boss_client.post(
        url + "?q=ali", {"changes": f"+a{alice.pk}:{group.pk}:rw"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?q=ali")
    assert Grant.objects.filter(agent=alice, group=group, permission="rw").exists()


def test_bad_input_is_a_clear_error(boss_client):
    group = make_group("Support")
    url = reverse("admin-permissions-group", args=[group.pk])
    response = boss_client.post(url, {"changes": "+a1:zz"})
    assert response.status_code == 400
    assert "Cannot read the change" in response.content.decode()
    assert boss_client.get(url, {"per_page": "7"}).status_code == 400
    assert boss_client.get(url, {"perm": "fly"}).status_code == 400
    assert boss_client.get(url, {"page": "x"}).status_code == 200
    assert (
        boss_client.get(reverse("admin-permissions-group", args=[999999])).status_code
        == 404
    )


def test_many_changes_in_one_field_raise_no_too_many_fields(boss_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
    groups = [make_group(f"g{i}") for i in range(6)]
    agents = [make_agent(f"a{i:03}") for i in range(200)]
    changes = " ".join(
        f"+a{a.pk}:{g.pk}:ro" for a in agents for g in groups
    )  # 1 200 grants
    url = reverse("admin-permissions-group", args=[groups[0].pk])
    response = boss_client.post(url, {"changes": changes})
    assert response.status_code == 302
    assert Grant.objects.count() == 1200


def test_agent_page_says_why(boss_client):
    group = make_group("Support")
    alice = make_agent("alice")
    role = admin.create_role("Team")
    admin.add_role_member(role, alice)
    admin.grant(group, [Permission.RW], role=role)
    body = boss_client.get(
        reverse("admin-permissions-agent", args=[alice.pk])
    ).content.decode()
    assert "Team" in body
    assert "by rw" in body


@pytest.mark.parametrize("agents", [3, 60])
def test_group_page_query_count_does_not_grow(
    boss_client, django_assert_max_num_queries, agents
):
    groups = [make_group(f"g{i}") for i in range(1 + agents // 10)]
    role = admin.create_role("Everyone")
    for i in range(agents):
        agent = make_agent(f"x{i:03}")
        admin.add_role_member(role, agent)
        admin.grant(groups[i % len(groups)], [Permission.RO], agent=agent)
    admin.grant(groups[0], [Permission.NOTE], role=role)
    url = reverse("admin-permissions-group", args=[groups[0].pk])
    with django_assert_max_num_queries(14):
        response = boss_client.get(url, {"per_page": 100})
    assert response.status_code == 200
