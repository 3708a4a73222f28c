"""Subject-access exports through every entry point: the web page (the worker writes
the zip, the requester downloads it once), the REST API and the command line.  Each
refuses an agent without the handle_personal_data right, a superuser included; each
records its reads on its own channel."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from helpline.actions import privacy_rights, subject_access
from helpline.actions.api_tokens import create_token
from helpline.models import AdminAuditEntry, PrivacyRun, ReadEvent
from tests.privacy.test_subject_access import JANE, World, build_world
from tests.support import make_agent
from tests.web import web_settings

pytestmark = pytest.mark.django_db

API = "/api/v1/privacy/exports"


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


def numbers_in(data: bytes) -> set[str]:
    tickets = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("tickets.json"))
    return {t["number"] for t in tickets["tickets"]}


def logged_in(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def bearer(agent) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(agent).secret}"}


@pytest.fixture
def world(org, settings, tmp_path, django_capture_on_commit_callbacks) -> World:
    """Jane's tickets, John's that copied her, Mallory's (test_subject_access)."""
    return build_world(org, settings, tmp_path, django_capture_on_commit_callbacks)


@pytest.fixture
def root():
    """An administrator, who does not hold the right by being one."""
    return make_agent("root", is_admin=True)


@pytest.fixture
def colleague():
    """Another holder of the right."""
    agent = make_agent("dpo2")
    privacy_rights.give(agent, privacy_rights.HANDLE_PERSONAL_DATA)
    return agent


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


# --- the web page --------------------------------------------------------------------
def test_the_web_page_writes_the_export_and_hands_it_over_once(world, colleague):
    client = logged_in(world.holder)
    page = client.get(reverse("privacy-exports"))
    assert page.status_code == 200
    assert b'name="address"' in page.content
    asked = client.post(
        reverse("privacy-exports"),
        {"address": "Jane.Roe@Example.net", "language": "en"},
    )
    assert asked.status_code == 302
    run = PrivacyRun.objects.get(kind="export")
    # The worker (at once in the tests) wrote it: the page offers the download.
    page = client.get(reverse("privacy-exports"))
    assert "Refresh" not in page.headers
    download = reverse("privacy-export-download", args=[run.pk])
    assert f'action="{download}"'.encode() in page.content
    path = subject_access.exports_dir() / run.report["file"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # Nobody else, not even another holder, gets it.
    assert logged_in(colleague).post(download).status_code == 404
    response = client.post(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment;" in response["Content-Disposition"]
    assert numbers_in(streamed(response)) == {world.own.number, world.copied.number}
    assert not path.exists()
    again = client.post(download)
    assert again.status_code == 410
    assert b"downloaded" in again.content
    assert client.get(download).status_code == 405  # never a link to prefetch
    events = ReadEvent.objects.filter(kind="export")
    assert set(events.values_list("channel", "agent_name")) == {("web", "dpo")}
    assert AdminAuditEntry.objects.filter(
        action="downloaded subject-access export", actor_name="dpo"
    ).exists()


def test_the_web_page_refreshes_while_the_worker_writes(world, monkeypatch):
    from helpline.web.views import privacy_export

    monkeypatch.setattr(privacy_export, "subject_access_export_job", lambda pk: None)
    client = logged_in(world.holder)
    client.post(reverse("privacy-exports"), {"address": JANE, "language": "en"})
    page = client.get(reverse("privacy-exports"))
    assert page.headers["Refresh"] == "5"
    assert b"waiting" in page.content
    run = PrivacyRun.objects.get(kind="export")
    assert (
        client.post(reverse("privacy-export-download", args=[run.pk])).status_code
        == 409
    )


def test_the_web_page_refuses_an_administrator_without_the_right(world, root):
    client = logged_in(root)
    assert client.get(reverse("privacy-exports")).status_code == 403
    refused = client.post(reverse("privacy-exports"), {"address": JANE})
    assert refused.status_code == 403
    assert b"handle_personal_data" in refused.content
    subject_access.run_export(
        subject_access.request_export(world.holder, JANE, channel="web").pk
    )
    run = PrivacyRun.objects.get(kind="export")
    download = reverse("privacy-export-download", args=[run.pk])
    assert client.post(download).status_code == 403
    assert PrivacyRun.objects.count() == 1


def test_the_web_form_says_what_is_wrong_with_an_address(world):
    page = logged_in(world.holder).post(
        reverse("privacy-exports"), {"address": "jane at home", "language": "en"}
    )
    assert page.status_code == 200
    assert b"errorlist" in page.content
    assert not PrivacyRun.objects.exists()


# --- the REST API ----------------------------------------------------------------------
def test_the_api_writes_the_export_and_hands_it_over_once(world, colleague, client):
    headers = bearer(world.holder)
    asked = client.post(
        API,
        data=json.dumps({"address": JANE, "include_internal": True}),
        content_type="application/json",
        headers=headers,
    )
    assert asked.status_code == 202, asked.content
    body = asked.json()
    assert asked["Location"] == f"{API}/{body['id']}"
    status = client.get(f"{API}/{body['id']}", headers=headers).json()
    assert status["status"] == "ready"
    assert status["include_internal"] is True
    assert (status["tickets"], status["messages"]) == (2, 4)
    assert status["download_url"] == f"{API}/{body['id']}/download"

    other = bearer(colleague)
    assert client.get(f"{API}/{body['id']}", headers=other).status_code == 404
    assert client.get(status["download_url"], headers=other).status_code == 404
    response = client.get(status["download_url"], headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    data = streamed(response)
    assert len(data) == status["size"]
    assert numbers_in(data) == {world.own.number, world.copied.number}
    again = client.get(status["download_url"], headers=headers)
    assert again.status_code == 410
    assert again.json()["error"]["code"] == "export_gone"
    assert client.get(f"{API}/{body['id']}", headers=headers).json()["status"] == (
        "downloaded"
    )
    events = ReadEvent.objects.filter(kind="export")
    assert set(events.values_list("channel", flat=True)) == {"api"}


def test_the_api_refuses_an_administrator_without_the_right(world, root, client):
    headers = bearer(root)
    asked = client.post(
        API,
        data=json.dumps({"address": JANE}),
        content_type="application/json",
        headers=headers,
    )
    assert asked.status_code == 403
    assert asked.json()["error"]["code"] == "permission_denied"
    run = subject_access.run_export(
        subject_access.request_export(world.holder, JANE, channel="api").pk
    )
    assert client.get(f"{API}/{run.pk}", headers=headers).status_code == 403
    assert client.get(f"{API}/{run.pk}/download", headers=headers).status_code == 403
    assert PrivacyRun.objects.count() == 1


def test_the_api_refuses_what_is_not_an_address(world, client):
    asked = client.post(
        API,
        data=json.dumps({"address": "jane"}),
        content_type="application/json",
        headers=bearer(world.holder),
    )
    assert asked.status_code == 422
    assert asked.json()["error"]["code"] == "invalid"


# --- the command line ------------------------------------------------------------------
def test_the_command_writes_a_private_file(world, tmp_path):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "jane.zip"
    out = StringIO()
    call_command(
        "privacy", "export", JANE, "-o", str(target), "--as", "dpo", stdout=out
    )
    assert f"Wrote {target}: 2 tickets, 3 messages, 3 attachments" in out.getvalue()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert numbers_in(target.read_bytes()) == {world.own.number, world.copied.number}
    assert [p.name for p in target.parent.iterdir()] == ["jane.zip"]  # no leftovers
    events = ReadEvent.objects.filter(kind="export")
    assert set(events.values_list("channel", "client")) == {
        ("cli", "helpline privacy export")
    }


def test_the_command_never_overwrites_a_file(world, tmp_path):
    target = tmp_path / "jane.zip"
    target.write_bytes(b"keep me")
    with pytest.raises(CommandError) as error:
        call_command("privacy", "export", JANE, "-o", str(target), "--as", "dpo")
    assert error.value.returncode == 2
    assert target.read_bytes() == b"keep me"


def test_the_command_refuses_an_administrator_without_the_right(world, root, tmp_path):
    target = tmp_path / "jane.zip"
    with pytest.raises(CommandError) as error:
        call_command("privacy", "export", JANE, "-o", str(target), "--as", "root")
    assert error.value.returncode == 1
    assert "handle_personal_data" in str(error.value)
    assert not Path(target).exists()
    assert not PrivacyRun.objects.exists()
