"""Browsers keep no ticket pages; behind HTTPS, cookies are Secure and HSTS is sent
(issue 13, point 9)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.web import urls
from helpline.web.static_files import StaticFiles
from tests.support import make_agent
from tests.web import PASSWORD, build_world, web_settings


def no_store(response) -> bool:
    """Neither the browser nor a shared cache may keep ``response``."""
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives and "public" not in directives


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world(passwords=True)


def fill(pattern: URLPattern, world) -> str:
    """The URL of ``pattern`` for the Secret queue's ticket, which eve may read."""
    hidden = world.hidden
    article = hidden.articles.get()
    values = {
        "number": hidden.number,
        "article_id": article.pk,
        "attachment_id": article.attachments.get().pk,
        "queue_id": world.secret.pk,
        # privacy-export-download: refused without handle_personal_data, like the page
        "export_id": 1,
        "view": "open",
        "uidb64": "MQ",
        "token": "forged-token",
        "run_id": 1,  # a privacy run (holders of a right only)
        "draft_id": 1,  # discard-draft: the agent's own drafts only
        "search_id": 1,  # a saved search (404 when it is not the agent's)
        # The administration pages: for administrators only.
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
        "prefix": "otrs/",  # legacy-link (a redirect, or the not-found page)
    }
    params = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
    return reverse(pattern.name, kwargs={p: values[p] for p in params})


def test_every_page_of_the_agent_interface_is_no_store(client, world):
    """The zoom, search, lists, attachments, raw mail, the e-mail HTML, forms: every
    page an agent opens (and its errors and redirects) tells browsers and proxies
    not to keep it."""
    client.force_login(world.eve)
    seen = {}
    for pattern in urls.urlpatterns:
        if not isinstance(pattern, URLPattern) or pattern.name == "logout":
            continue
        response = client.get(fill(pattern, world), {"q": "Secret"})
        seen[pattern.name] = response.status_code
        if pattern.name == "public-backlog":
            # Public counts, the same for everyone (docs/reports.md): cacheable,
            # and with nothing of a ticket in it.
            assert response["Cache-Control"].startswith("public"), response
            assert b"Secret" not in response.content
            continue
        assert no_store(response), (pattern.name, response)
    # The walk reached the pages that carry ticket content.
    for name in ("zoom", "search", "attachment", "article-raw", "article-html"):
        assert seen[name] == 200, name


def test_logged_out_pages_and_errors_are_no_store(client, world):
    for url in (reverse("login"), "/no-such-page/", reverse("dashboard")):
        assert no_store(client.get(url)), url


def test_api_answers_are_no_store(client, world):
    token = create_token(world.eve).secret
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("me", "tickets", f"tickets/{world.hidden.number}", "tickets/0"):
        response = client.get(f"/api/v1/{path}", headers=headers)
        assert response.status_code in (200, 404), path
        assert no_store(response), path


def test_the_administration_is_no_store(client, db):
    boss = make_agent("boss", is_admin=True)
    admin.create_group("Support")
    client.force_login(boss)
    for url in ("/admin/", "/admin/helpline/group/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert no_store(response), url


def test_static_files_stay_cacheable(tmp_path):
    """Served in front of Django: scripts and styles may be kept."""
    (tmp_path / "app.css").write_text("body {}")
    app = StaticFiles(lambda env, start: [], root=tmp_path, prefix="/static/")
    headers = {}

    def start_response(status, response_headers, exc_info=None):
        headers.update(response_headers)

    b"".join(app({"PATH_INFO": "/static/app.css"}, start_response))
    assert headers["Cache-Control"].startswith("public")


# --- behind a TLS-terminating proxy ---------------------------------------------------
HTTPS_SETTINGS = [
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "LANGUAGE_COOKIE_SECURE",
    "HELPLINE_BEHIND_HTTPS_PROXY",
]
PRINT_SETTINGS = (
    "import json; from helpline import settings as s; "
    f"print(json.dumps({{n: getattr(s, n, None) for n in {HTTPS_SETTINGS!r}}}))"
)


def settings_from_env(tmp_path, **env: str) -> dict:
    """What helpline/settings.py makes of these environment variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    clean |= {"HELPLINE_DATA_DIR": str(tmp_path / "data"), **env}
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", PRINT_SETTINGS],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_by_default_nothing_assumes_https(tmp_path):
    found = settings_from_env(tmp_path)
    assert found["SESSION_COOKIE_SECURE"] is False
    assert found["SECURE_PROXY_SSL_HEADER"] is None
    assert found["SECURE_HSTS_SECONDS"] is None


@pytest.fixture
def behind_https_proxy(settings, tmp_path):
    """The settings HELPLINE_BEHIND_HTTPS_PROXY=1 gives, applied to this process."""
    found = settings_from_env(tmp_path, HELPLINE_BEHIND_HTTPS_PROXY="1")
    for name, value in found.items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    settings.ALLOWED_HOSTS = ["helpline.example.org"]
    return found


def test_behind_the_proxy_cookies_are_secure_and_hsts_is_sent(
    world, behind_https_proxy
):
    assert behind_https_proxy["SECURE_HSTS_SECONDS"] >= 180 * 24 * 3600
    client = Client(HTTP_HOST="helpline.example.org", HTTP_X_FORWARDED_PROTO="https")
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert page["Strict-Transport-Security"].startswith("max-age=")
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    for name in ("sessionid", "csrftoken"):
        assert response.cookies[name]["secure"] is True, name
    zoom = client.get(reverse("zoom", args=[world.ticket.number]))
    assert zoom.status_code == 200
    assert no_store(zoom)
    assert "Strict-Transport-Security" in zoom


def test_behind_the_proxy_plain_http_is_redirected_to_https(world, behind_https_proxy):
    client = Client(HTTP_HOST="helpline.example.org", HTTP_X_FORWARDED_PROTO="http")
    response = client.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"] == "https://helpline.example.org" + reverse("login")
    assert "Strict-Transport-Security" not in response
