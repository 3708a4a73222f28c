"""Security of the interface: headers, CSRF, error pages, and no way around access.

The URL walk resolves every pattern of ``helpline.web.urls`` with the ids of a ticket
the agent may not see, and requires 404 or 403 (a login redirect when logged out) and
none of the ticket's content, for GET and POST.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from helpline.web import urls
from tests.web import build_world, web_settings

SECRETS = (b"Secret matter", b"TOP SECRET", b"whistle@example.org")
# Pages without ticket parameters: they answer 200 with the agent's own lists.
OWN_PAGES = {
    "dashboard",
    "queues",
    "search",
    "ticket-list",
    "search-advanced",
    "bulk",
    "preferences",
    "new-email-ticket",
    "new-phone-ticket",
    # The agent's own drafts (docs/web.md "Drafts"); another's draft id is a 404.
    "my-drafts",
    "login",
    "logout",
    # Two-factor authentication (docs/authentication.md): the agent's own.
    "login-code",
    "two-factor",
    "two-factor-setup",
    "two-factor-codes",
    "two-factor-regenerate",
    "two-factor-disable",
    # Security keys (WebAuthn): the agent's own; the login pair answers JSON.
    "login-key-options",
    "login-key",
    "two-factor-key-options",
    "two-factor-key-add",
    "two-factor-key-remove",
    "sessions",
    # Mentions, out of office, saved searches (docs/web.md): the agent's own.
    "mentions",
    "mentions-dismiss-all",  # POST only: the agent's own mentions marked done
    "out-of-office",
    "saved-searches",
    "saved-search-new",
    "password-change",
    # Reports (docs/reports.md): figures of the agent's own queues only (their
    # permission tests: tests/reports/); the public backlog names no ticket.
    "reports",
    "reports-csv",
    "report-mail",
    "public-backlog",
    *(
        "password-reset",
        "password-reset-complete",
        "password-reset-confirm",
    ),
}
# Pages for people who are not logged in (asking for and using a reset link).
PUBLIC_PAGES = {
    "login",
    "logout",
    "password-reset",
    "password-reset-complete",
    "password-reset-confirm",
    "invitation",  # an invited agent's link (404 for a forged one)
    "sso-login",
    "sso-callback",
    # The second step with a security key, after the password (403 without it).
    "login-key-options",
    "login-key",
    # Counts of the queues that opted in, for anyone (docs/reports.md).
    "public-backlog",
}


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


def own_patterns():
    """Every pattern of the agent interface (admin and API have their own tests)."""
    return [p for p in urls.urlpatterns if isinstance(p, URLPattern)]


def test_the_walk_covers_the_whole_interface():
    names = {p.name for p in own_patterns()}
    assert {"zoom", "reply", "merge", "attachment", "article-html", "presence"} <= names
    assert len(names) == len(own_patterns())
    resolvers = [p for p in urls.urlpatterns if isinstance(p, URLResolver)]
    assert {str(r.pattern) for r in resolvers} <= {"admin/", "api/v1/"}


def fill(pattern: URLPattern, world) -> str:
    hidden = world.hidden
    article = hidden.articles.order_by("pk").first()
    values = {
        "number": hidden.number,
        "article_id": article.pk,
        "attachment_id": article.attachments.order_by("pk").first().pk,
        "queue_id": world.secret.pk,
        # privacy-export-download: refused without handle_personal_data, like the page
        "export_id": 1,
        "draft_id": 1,  # discard-draft: the agent's own drafts only
        "view": "open",
        "uidb64": "MQ",
        "token": "forged-token",
        "run_id": 1,  # a privacy run: those pages are for holders of a right
        "search_id": 1,  # a saved search: none is visible (404), like a hidden one
        "prefix": "otrs/",  # legacy-link: its own tests are tests/web/test_legacy_links.py
        # The administration pages (tests/adminarea/): for administrators only.
        "group_id": world.secret.group_id,
        "agent_id": world.eve.pk,
        "template_id": 1,
        # Mail and states (site administrators only).
        "address_id": 1,
        "account_id": 1,
        "filter_id": 1,
        "state_id": 1,
        "role_id": 1,  # groups and roles: site administrators only
        "kind": "salutations",  # the answer texts' screens
        "pk": 1,
    }
    params = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
    return reverse(pattern.name, kwargs={p: values[p] for p in params})


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_url_refuses_a_ticket_the_agent_may_not_see(client, world, method):
    client.force_login(world.alice)
    checked = 0
    for pattern in own_patterns():
        url = fill(pattern, world)
        data = {
            "ids": [world.hidden.pk],
            "target": world.hidden.number,
            "other": world.hidden.number,
            "q": "Secret",
        }
        response = getattr(client, method)(url, data)
        for secret in SECRETS:
            assert secret not in response.content, (url, method)
        if pattern.name in OWN_PAGES:
            assert response.status_code in (200, 302, 400, 405), (url, method)
            if pattern.name == "logout":
                client.force_login(world.alice)
        else:
            assert response.status_code in (403, 404), (url, method, response)
            checked += 1
    assert checked >= 25


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_url_asks_for_a_login_when_logged_out(client, world, method):
    for pattern in own_patterns():
        if pattern.name in PUBLIC_PAGES:
            continue
        url = fill(pattern, world)
        response = getattr(client, method)(url)
        assert response.status_code == 302, (url, method)
        assert response["Location"].startswith(reverse("login")), url
        for secret in SECRETS:
            assert secret not in response.content


def test_every_page_carries_a_strict_content_security_policy(client, world):
    client.force_login(world.alice)
    for url in (
        reverse("dashboard"),
        reverse("zoom", args=[world.ticket.number]),
        reverse("login"),
        "/no/such/page/",
    ):
        csp = client.get(url)["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "object-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "img-src 'self' data:" in csp


def test_the_pages_have_no_inline_script(client, world):
    client.force_login(world.alice)
    for url in (reverse("dashboard"), reverse("zoom", args=[world.ticket.number])):
        html = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, tag
        assert not re.search(r"\son[a-z]+=", html)
        assert "javascript:" not in html


def test_forms_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    response = client.post(reverse("lock", args=[world.ticket.number]))
    assert response.status_code == 403
    assert not type(world.ticket).objects.get(pk=world.ticket.pk).locked


def test_error_pages_are_plain_without_a_traceback(client, world, settings):
    settings.DEBUG = False
    client.force_login(world.alice)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Not found" in response.content
    assert b"Traceback" not in response.content
    assert b"urlpatterns" not in response.content


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        ("bad_request", 400),
        ("permission_denied", 403),
        ("page_not_found", 404),
        ("server_error", 500),
    ],
)
def test_every_error_handler_renders_its_template(rf, handler, status):
    from helpline.web.views import errors

    request = rf.get("/")
    view = getattr(errors, handler)
    response = view(request) if status == 500 else view(request, Exception("x"))
    assert response.status_code == status
    assert str(status).encode() in response.content
    assert b"Traceback" not in response.content


def test_a_server_error_shows_the_plain_page(world, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(world.alice)
    from unittest import mock

    with mock.patch(
        "helpline.web.views.overviews.listing.dashboard_counts",
        side_effect=RuntimeError("boom"),
    ):
        response = client.get(reverse("dashboard"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"boom" not in response.content


def test_the_administration_is_linked_for_staff_only(client, world):
    client.force_login(world.alice)
    assert (
        reverse("admin:index").encode() not in client.get(reverse("dashboard")).content
    )
    world.alice.is_staff = True
    world.alice.save()
    assert reverse("admin:index").encode() in client.get(reverse("dashboard")).content
