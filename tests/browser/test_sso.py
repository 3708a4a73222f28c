"""Single sign-on in real Chromium against a real OpenID Connect provider
(oidc-provider under node, tests/oidc_provider.py): sign in at the provider's own
page, land on the dashboard with the mapped role, log out of both."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from helpline.actions import admin
from helpline.actions.sso import map_idp_group
from tests.oidc_provider import configure, running_provider

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def browser_provider(server):
    with running_provider(
        redirect_uri=f"{server.url}/sso/callback/",
        logout_uri=f"{server.url}/login/",
    ) as running:
        yield running


def test_sign_in_and_out_with_the_provider(page, server, browser_provider, settings):
    configure(settings, browser_provider, HELPLINE_OIDC_DISPLAY_NAME="Example ID")
    map_idp_group("helpline-agents", admin.create_role("Agents"))

    page.goto("/login/")
    page.get_by_role("link", name="Sign in with Example ID").click()
    # The provider's own sign-in page.
    page.wait_for_url(f"{browser_provider.issuer}/interaction/**")
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    alice = get_user_model().objects.get(username="alice")
    assert [r.name for r in alice.helpline_roles.all()] == ["Agents"]

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{browser_provider.issuer}/session/end**")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{server.url}/login/")
    page.goto("/")
    page.wait_for_url(f"{server.url}/login/**")
    # The provider's session is over too: its sign-in page asks again.
    page.get_by_role("link", name="Sign in with Example ID").click()
    page.wait_for_url(f"{browser_provider.issuer}/interaction/**")
    expect(page.locator("input[name=login]")).to_be_visible()
