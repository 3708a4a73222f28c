"""Signing in with OpenID Connect against a real provider (oidc-provider, node)."""

from __future__ import annotations

import html
import re

from django.contrib.auth import get_user_model
from django.urls import reverse

from helpline.actions import admin
from helpline.actions.sso import map_idp_group
from helpline.models import AdminAuditEntry, Grant
from tests.auth import code_step, enrol, fresh_code
from tests.oidc_provider import Browser, sign_in


def test_first_sign_in_creates_the_agent_with_its_mapped_roles(client, sso):
    agents = admin.create_role("Agents")
    admin.create_role("Unmapped")
    map_idp_group("helpline-agents", agents)

    answer = sign_in(client, "alice")

    assert answer.status_code == 302
    assert answer["Location"] == "/"
    alice = get_user_model().objects.get(username="alice")
    assert alice.email == "alice@example.org"
    assert (alice.first_name, alice.last_name) == ("Alice", "Example")
    assert not alice.has_usable_password()
    assert [r.name for r in alice.helpline_roles.all()] == ["Agents"]
    # The provider gives no queue access by itself: no grant of the agent's own.
    assert not Grant.objects.filter(agent=alice).exists()
    assert client.get("/").status_code == 200
    assert client.session["helpline_mfa_by_idp"] is False
    logged = AdminAuditEntry.objects.filter(object_type="agent", action="created")
    assert logged.filter(object_repr="alice").exists()


def test_name_and_address_follow_the_provider_at_every_sign_in(client, sso):
    assert sign_in(client, "alice").status_code == 302
    alice = get_user_model().objects.get(username="alice")
    alice.email, alice.first_name, alice.last_name = "old@example.net", "Al", "Old"
    alice.save()
    client.post("/logout/")

    assert sign_in(client, "alice").status_code == 302
    alice.refresh_from_db()
    assert (alice.email, alice.first_name, alice.last_name) == (
        "alice@example.org",
        "Alice",
        "Example",
    )


def test_group_sync_removes_a_membership_the_provider_dropped(client, sso):
    agents = admin.create_role("Agents")
    staff = admin.create_role("Staff")
    manual = admin.create_role("Manual")
    map_idp_group("helpline-agents", agents)
    map_idp_group("staff", staff)
    bob = admin.create_agent("bob", email="bob@example.org")
    # Bob was given "Staff" when he was in the group, and "Manual" by hand.
    admin.add_role_member(staff, bob)
    admin.add_role_member(manual, bob)

    assert sign_in(client, "bob").status_code == 302

    assert sorted(r.name for r in bob.helpline_roles.all()) == ["Manual"]
    removed = AdminAuditEntry.objects.filter(
        action="member removed", object_repr="Staff"
    )
    assert removed.count() == 1


def test_no_agent_creation_when_switched_off(client, sso, settings):
    settings.HELPLINE_OIDC_CREATE_AGENTS = False
    answer = sign_in(client, "alice")
    assert answer.status_code == 403
    assert b"no Helpline agent for your login" in answer.content
    assert not get_user_model().objects.filter(username="alice").exists()
    assert "_auth_user_id" not in client.session


def test_amr_value_counts_as_second_factor_when_configured(client, sso, settings):
    settings.HELPLINE_OIDC_MFA_VALUES = ["otp", "hwk"]
    assert sign_in(client, "carol").status_code == 302
    assert client.session["helpline_mfa_by_idp"] is True
    # Without the setting, the same amr counts for nothing.
    client.post("/logout/")
    settings.HELPLINE_OIDC_MFA_VALUES = []
    assert sign_in(client, "carol").status_code == 302
    assert client.session["helpline_mfa_by_idp"] is False


def test_an_agent_with_a_second_factor_gives_its_code_after_the_provider(
    client, sso, settings
):
    """Signed in at the provider without a second factor it attests: an agent who has
    one here is not logged in until its code (the same step as after a password)."""
    settings.HELPLINE_OIDC_MFA_VALUES = []
    assert sign_in(client, "carol").status_code == 302
    carol = get_user_model().objects.get(username="carol")
    client.post("/logout/")
    enrol(carol)

    answer = sign_in(client, "carol")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("login-code")
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # nothing opens before the code
    done = code_step(client, fresh_code(carol))
    assert done.status_code == 302
    assert client.session["_auth_user_id"] == str(carol.pk)
    assert client.get("/").status_code == 200


def test_a_second_factor_the_provider_attests_counts_for_an_enrolled_agent(
    client, sso, settings
):
    """With HELPLINE_OIDC_MFA_VALUES naming the provider's amr, the sign-in is
    complete: no code asked, and the session is not ended as one opened by a
    password alone."""
    settings.HELPLINE_OIDC_MFA_VALUES = ["otp", "hwk"]
    assert sign_in(client, "carol").status_code == 302
    carol = get_user_model().objects.get(username="carol")
    client.post("/logout/")
    enrol(carol)

    answer = sign_in(client, "carol")
    assert answer.status_code == 302
    assert answer["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.session["_auth_user_id"] == str(carol.pk)


def test_logout_ends_the_provider_session_too(client, sso):
    browser = Browser()
    assert sign_in(client, "alice", browser).status_code == 302
    answer = client.post("/logout/")
    assert answer.status_code == 200
    link = re.search(rb'id="provider-logout" href="([^"]+)"', answer.content)
    assert link is not None
    end = html.unescape(link.group(1).decode())
    assert end.startswith(f"{sso.issuer}/session/end?id_token_hint=")
    assert "_auth_user_id" not in client.session
    # The provider asks to confirm, then sends the browser back to Helpline's login.
    page = browser.http.get(end, timeout=10)
    assert page.status_code == 200

    form = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
    assert form and xsrf
    done = browser.http.post(
        f"{sso.issuer}{form.group(1)}"
        if form.group(1).startswith("/")
        else form.group(1),
        data={"xsrf": xsrf.group(1), "logout": "yes"},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code in (302, 303)
    assert done.headers["Location"] == "http://testserver/login/"
    # Signing in again needs the provider's form again (its session is over).
    start = client.get("/sso/login/")
    again = browser.http.get(start["Location"], allow_redirects=True, timeout=10)
    assert 'name="login"' in again.text


def test_provider_down_is_a_clear_page(client, sso, settings):
    settings.HELPLINE_OIDC_ISSUER = "http://127.0.0.1:9"
    answer = client.get("/sso/login/")
    assert answer.status_code == 502
    assert b"cannot be reached" in answer.content
    assert b"Traceback" not in answer.content


def test_provider_error_answer_is_a_clear_page(client, sso):
    start = client.get("/sso/login/")
    state = start["Location"].split("state=")[1].split("&")[0]
    answer = client.get(
        f"/sso/callback/?error=access_denied&error_description=no&state={state}"
    )
    assert answer.status_code == 403
    assert b"did not sign you in" in answer.content


def test_cli_maps_lists_and_unmaps_provider_groups(db):
    from helpline.models import IdpGroupMapping
    from tests.cli import run

    admin.create_role("Agents")
    assert run("role", "map-idp-group", "Agents", "helpline-agents") == (
        "Members of 'helpline-agents' at the identity provider are members of "
        "role 'Agents'.\n"
    )
    assert "helpline-agents  Agents" in run("role", "idp-groups")
    assert IdpGroupMapping.objects.get().role.name == "Agents"
    logged = AdminAuditEntry.objects.filter(
        object_type="identity-provider group mapping"
    )
    assert logged.filter(action="created").count() == 1
    run("role", "unmap-idp-group", "Agents", "helpline-agents")
    assert not IdpGroupMapping.objects.exists()
    assert logged.filter(action="deleted").count() == 1


def test_admin_site_maps_a_group_audited(client, db):
    from helpline.models import IdpGroupMapping

    role = admin.create_role("Agents")
    root = admin.create_agent("root", email="root@example.org", is_admin=True)
    client.force_login(root)
    answer = client.post(
        "/admin/helpline/idpgroupmapping/add/",
        {"idp_group": "helpline-agents", "role": role.pk},
    )
    assert answer.status_code == 302, answer.content[:2000]
    assert IdpGroupMapping.objects.get().idp_group == "helpline-agents"
    entry = AdminAuditEntry.objects.get(object_type="identity-provider group mapping")
    assert entry.actor_name == "root"
