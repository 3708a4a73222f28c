"""Policies: who must use a second factor, and what happens until they do."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.actions import admin, twofactor
from helpline.actions.api_tokens import create_token
from helpline.errors import InvalidInput, PermissionDenied
from helpline.models import Permission, TwoFactorPolicy
from tests.auth import code_step, enrol, fresh_code, password_step
from tests.web import PASSWORD


class _Required:
    def __init__(self, value: bool) -> None:
        self.required = value


def required(agent) -> _Required:
    """The middleware's answer, checked against the screens' (one rule, two forms)."""
    agent = type(agent).objects.get(pk=agent.pk)  # as a new request loads it
    answer = twofactor.two_factor_state(agent).required
    assert answer == bool(twofactor.policies_for(agent)), agent
    return _Required(answer)


def policy(**kw) -> TwoFactorPolicy:
    p = TwoFactorPolicy(name=kw.pop("name", "p"), **kw)
    twofactor.check_policy(p)
    return admin.save_configuration(None, p, changed=["name"])


def test_a_role_policy_applies_to_the_roles_members_only(world):
    role = admin.create_role("Permissions team")
    admin.add_role_member(role, world.alice)
    policy(role=role)
    assert required(world.alice).required
    assert not required(world.bob).required


def test_a_group_policy_applies_to_everyone_with_access_to_its_queues(world):
    """'Everyone with access to the permissions queues': grants to the agent or
    through a role; rw implies ro."""
    support = world.info.group
    policy(group=support, permission=Permission.RO)
    assert required(world.alice).required  # rw on Support
    assert required(world.bob).required
    assert not required(world.eve).required  # Secret only


def test_a_group_policy_on_override_lock_is_not_implied_by_rw(world):
    policy(group=world.info.group, permission=Permission.OVERRIDE_LOCK)
    assert not required(world.alice).required
    admin.grant(world.info.group, [Permission.OVERRIDE_LOCK], agent=world.alice)
    assert required(world.alice).required


def test_a_group_policy_without_permission_means_any_grant_and_roles_count(world):
    secret = world.secret.group
    policy(group=secret)
    role = admin.create_role("Leads")
    admin.grant(secret, [Permission.NOTE], role=role)
    assert not required(world.alice).required
    admin.add_role_member(role, world.alice)
    assert required(world.alice).required


def test_an_administrators_policy_and_invalid_policies(world):
    p = policy(administrators=True)
    admin.update_agent(
        None, world.bob, email=world.bob.email, is_admin=True, is_active=True
    )
    assert required(world.bob).required
    assert not required(world.alice).required
    p.valid = False
    admin.save_configuration(None, p, changed=["valid"])
    assert not required(world.bob).required


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"administrators": True, "permission": "ro"},
        {"administrators": True, "role_id": 1},
    ],
)
def test_a_policy_names_exactly_one_kind_of_agent(world, fields):
    with pytest.raises(InvalidInput):
        twofactor.check_policy(TwoFactorPolicy(name="x", **fields))


def test_an_agent_the_policy_requires_is_sent_to_set_up_before_any_page(client, world):
    policy(group=world.info.group)
    password_step(client, "alice", PASSWORD)
    for url in (
        reverse("dashboard"),
        reverse("zoom", args=[world.ticket.number]),
        reverse("queues"),
        "/admin/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("two-factor-setup"), url
    assert client.get(reverse("two-factor-setup")).status_code == 200
    # The API with this session: a clear refusal, no redirect.
    api = client.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "two_factor_required"
    # Once set up, every page opens.
    client.post(reverse("two-factor-setup"), {"code": fresh_code(world.alice)})
    assert client.get(reverse("dashboard")).status_code == 200


def test_api_tokens_are_not_redirected(client, world):
    policy(group=world.info.group)
    secret = create_token(world.alice).secret
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200


def test_tokens_of_an_agent_out_of_compliance_stop_when_the_rule_says_so(
    client, world, settings
):
    """HELPLINE_TWO_FACTOR_TOKENS=refuse: the policy reaches API tokens too, until the
    agent sets up its second factor."""
    settings.HELPLINE_TWO_FACTOR_TOKENS = "refuse"
    secret = create_token(world.alice).secret
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/me", **bearer).status_code == 200  # no policy yet
    policy(group=world.info.group)
    refused = client.get("/api/v1/me", **bearer)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "two_factor_required"
    enrol(world.alice)
    assert client.get("/api/v1/me", **bearer).status_code == 200


def test_switching_off_is_refused_while_a_policy_requires_it(client, world):
    enrol(world.alice)
    policy(group=world.info.group)
    with pytest.raises(PermissionDenied, match="required"):
        twofactor.disable_two_factor(
            world.alice, password=PASSWORD, code=fresh_code(world.alice)
        )
    password_step(client, "alice", PASSWORD)
    code_step(client, fresh_code(world.alice))
    page = client.get(reverse("two-factor"))
    assert b"it cannot be switched off" in page.content
    assert twofactor.has_two_factor(world.alice)


def test_the_policy_screen_refuses_two_kinds_at_once(admin_client, world):
    role = admin.create_role("Leads")
    response = admin_client.post(
        reverse("admin:helpline_twofactorpolicy_add"),
        {
            "name": "both",
            "valid": "on",
            "role": role.pk,
            "group": world.info.group_id,
            "permission": "",
        },
    )
    assert response.status_code == 200
    assert b"exactly one of" in response.content
    assert not TwoFactorPolicy.objects.exists()
    ok = admin_client.post(
        reverse("admin:helpline_twofactorpolicy_add"),
        {"name": "leads", "valid": "on", "role": role.pk, "permission": ""},
    )
    assert ok.status_code == 302
    assert TwoFactorPolicy.objects.get().role == role
