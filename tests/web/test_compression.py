"""Compressed responses: pages go out gzip-encoded to clients that accept it, with the
same security headers; downloads are sent as they are."""

from __future__ import annotations

import gzip

import pytest
from django.urls import reverse

from helpline.actions.articles import NewAttachment
from tests.web import build_world, email_ticket, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def test_a_page_is_gzip_encoded_when_accepted_and_decodes_to_the_same_html(
    alice_client, world
):
    url = reverse("zoom", args=[world.ticket.number])
    plain = alice_client.get(url)
    packed = alice_client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    html = gzip.decompress(packed.content)
    assert len(packed.content) < len(html)
    assert html.startswith(b"<!doctype html>") or b"<html" in html[:200]
    # The same page (the CSRF token is masked afresh for every response).
    assert world.ticket.number.encode() in html
    assert html.count(b"<article") == plain.content.count(b"<article")
    assert html.count(b"\n") == plain.content.count(b"\n")


def test_a_compressed_page_keeps_its_security_headers(alice_client, world):
    url = reverse("zoom", args=[world.ticket.number])
    plain = alice_client.get(url)
    packed = alice_client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    for header in ("Content-Security-Policy", "Cache-Control", "X-Frame-Options"):
        assert packed[header] == plain[header], header
    assert packed["Cache-Control"] == "no-store, private"


def test_api_answers_are_compressed_too(alice_client, world):
    response = alice_client.get("/api/v1/tickets", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content).startswith(b"{")


def test_downloads_are_sent_as_they_are(alice_client, world):
    body = b"%PDF-1.4 " + b"already compressed stream " * 100
    ticket = email_ticket(
        world.ticket.queue,
        attachments=[NewAttachment("big.pdf", "application/pdf", body)],
    )
    item = ticket.articles.get().attachments.get()
    response = alice_client.get(
        reverse("attachment", args=[ticket.number, item.pk]),
        HTTP_ACCEPT_ENCODING="gzip",
    )
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert (
        b"".join(
            response.streaming_content if response.streaming else [response.content]
        )
        == body
    )


# --- static files: compressed once by collectstatic, sent gzipped when accepted ---------
def _static_get(root, path, **headers):
    from helpline.web.static_files import StaticFiles

    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = status
        seen["headers"] = dict(response_headers)

    def django_app(environ, start):
        start("404 Not Found", [])
        return [b""]

    app = StaticFiles(django_app, root=root, prefix="/static/")
    body = b"".join(
        app({"PATH_INFO": path, "REQUEST_METHOD": "GET", **headers}, start_response)
    )
    return seen["status"], seen["headers"], body


def test_collected_static_text_files_are_sent_gzipped_when_accepted(settings, tmp_path):
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    original = (settings.STATIC_ROOT / "helpline" / "app.css").read_bytes()
    assert (settings.STATIC_ROOT / "helpline" / "app.css.gz").is_file()

    status, headers, body = _static_get(
        settings.STATIC_ROOT,
        "/static/helpline/app.css",
        HTTP_ACCEPT_ENCODING="gzip, br",
    )
    assert status == "200 OK"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"].startswith("text/css")
    assert headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(body) < len(original)
    assert gzip.decompress(body) == original

    status, headers, body = _static_get(
        settings.STATIC_ROOT, "/static/helpline/app.css"
    )
    assert "Content-Encoding" not in headers
    assert headers["Vary"] == "Accept-Encoding"
    assert body == original


def test_a_stale_gzip_copy_is_not_sent(tmp_path):
    import os

    root = tmp_path / "static"
    root.mkdir()
    (root / "site.css").write_text("body { color: red; }\n" * 50)
    (root / "site.css.gz").write_bytes(gzip.compress(b"old"))
    os.utime(root / "site.css.gz", (1, 1))  # older than the file
    status, headers, body = _static_get(
        root, "/static/site.css", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert "Content-Encoding" not in headers
    assert body == (root / "site.css").read_bytes()
