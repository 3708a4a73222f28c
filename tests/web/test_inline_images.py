"""Images a mail carries as its own parts (cid:) are shown in its HTML, and nothing else.

The HTML frame is sandboxed (opaque origin), so the browser sends its image requests
without the session cookie: the image URLs carry a short-lived token for the agent, and
the image view still checks that agent's access.
"""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpline.actions import admin
from helpline.actions.articles import NewAttachment
from helpline.models import Permission
from helpline.web import inline_images
from tests.web import build_world, email_ticket, png, web_settings

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


def mail_with_images(queue, html, *parts):
    attachments = [
        NewAttachment(name, ctype, data, content_id=cid, inline=True)
        for name, ctype, data, cid in parts
    ]
    return email_ticket(queue, html=html, attachments=attachments)


@pytest.fixture
def logo_ticket(world):
    return mail_with_images(
        world.info,
        '<p>Logo:</p><img src="cid:logo@example.net" alt="logo">'
        '<img src="cid:chart@example.net" alt="chart">'
        '<img src="cid:missing@example.net" alt="missing">'
        '<img src="https://tracker.example/pixel.gif">',
        ("logo.png", "image/png", png(), "logo@example.net"),
        ("chart.svg", "image/svg+xml", SVG, "chart@example.net"),
    )


def attachment_named(ticket, name):
    return ticket.articles.get().attachments.get(filename=name)


def frame_html(client, ticket):
    article = ticket.articles.get()
    response = client.get(reverse("article-html", args=[ticket.number, article.pk]))
    assert response.status_code == 200
    return response


def image_urls(html: str) -> list[str]:
    return [unescape(src) for src in re.findall(r'<img src="([^"]*)"', html)]


def test_cid_images_point_at_the_attachment_and_the_rest_is_dropped(
    client, world, logo_ticket
):
    client.force_login(world.alice)
    response = frame_html(client, logo_ticket)
    html = response.content.decode()
    logo = attachment_named(logo_ticket, "logo.png")
    [url] = image_urls(html)
    assert url.startswith(
        reverse("attachment-image", args=[logo_ticket.number, logo.pk])
    )
    assert "?t=" in url
    # The SVG part, the unknown Content-ID and the remote image are all gone.
    for gone in ("cid:", "chart", "missing", "tracker.example"):
        assert gone not in html
    csp = response["Content-Security-Policy"]
    assert "img-src 'self' data:;" in csp
    assert "default-src 'none'" in csp
    assert "http" not in csp


def test_the_image_url_serves_the_png_inline_without_a_session(
    client, world, logo_ticket
):
    """The sandboxed frame's request carries no cookie: the token is enough."""
    client.force_login(world.alice)
    [url] = image_urls(frame_html(client, logo_ticket).content.decode())
    response = Client().get(url)
    assert response.status_code == 200
    assert response.content == png()
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="logo.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_an_agent_with_access_may_open_the_image_with_the_session(
    client, world, logo_ticket
):
    logo = attachment_named(logo_ticket, "logo.png")
    url = reverse("attachment-image", args=[logo_ticket.number, logo.pk])
    client.force_login(world.bob)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")


def test_an_agent_without_access_gets_404_with_a_session_or_a_token(
    client, world, logo_ticket
):
    logo = attachment_named(logo_ticket, "logo.png")
    url = reverse("attachment-image", args=[logo_ticket.number, logo.pk])
    client.force_login(world.eve)
    response = client.get(url)
    assert response.status_code == 404
    assert png() not in response.content
    # A token names an agent; it never gives more than that agent's access.
    token = inline_images.image_token(world.eve, logo.pk)
    response = Client().get(url, {"t": token})
    assert response.status_code == 404
    assert png() not in response.content


def test_a_token_ends_with_the_agents_access(client, world, logo_ticket):
    client.force_login(world.alice)
    [url] = image_urls(frame_html(client, logo_ticket).content.decode())
    assert Client().get(url).status_code == 200
    admin.revoke(world.info.group, [Permission.RW], agent=world.alice)
    assert Client().get(url).status_code == 404


def test_a_token_is_good_for_one_attachment_and_a_short_while(world, logo_ticket):
    logo = attachment_named(logo_ticket, "logo.png")
    url = reverse("attachment-image", args=[logo_ticket.number, logo.pk])
    login = reverse("login")
    other = inline_images.image_token(world.alice, logo.pk + 1000)
    forged = inline_images.image_token(world.alice, logo.pk)[:-2] + "xx"

    class LongAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 3600)

    expired = LongAgo(salt=inline_images._SALT).sign_object([world.alice.pk, logo.pk])
    for token in (other, forged, expired, ""):
        response = Client().get(url, {"t": token})
        assert response.status_code == 302, token
        assert response["Location"].startswith(login)


def test_svg_and_html_are_never_served_inline(client, world, logo_ticket):
    ticket = mail_with_images(
        world.info,
        '<img src="cid:page@example.net"><img src="cid:fake@example.net">',
        ("page.html", "text/html", b"<script>alert(1)</script>", "page@example.net"),
        (
            "fake.png",
            "image/png",
            b"<html><script>alert(2)</script>",
            "fake@example.net",
        ),
    )
    client.force_login(world.alice)
    cases = [
        (logo_ticket, "chart.svg", "application/octet-stream"),
        (ticket, "page.html", "application/octet-stream"),
        # Labelled PNG, but the bytes are not an image: still only a download.
        (ticket, "fake.png", "image/png"),
    ]
    for owner, name, served_as in cases:
        item = attachment_named(owner, name)
        response = client.get(reverse("attachment-image", args=[owner.number, item.pk]))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;"), name
        assert response["Content-Type"] == served_as, name
        assert response["X-Content-Type-Options"] == "nosniff"
    # HTML is not even referenced from the frame; the fake PNG is (its bytes are only
    # read when served) and then shows nothing.
    fake = attachment_named(ticket, "fake.png")
    [url] = image_urls(frame_html(client, ticket).content.decode())
    assert url.startswith(reverse("attachment-image", args=[ticket.number, fake.pk]))


def test_the_bytes_decide_the_served_image_type(client, world):
    ticket = mail_with_images(
        world.info,
        '<img src="cid:photo@example.net">',
        ("photo.png", "image/png", JPEG, "photo@example.net"),
    )
    client.force_login(world.alice)
    [url] = image_urls(frame_html(client, ticket).content.decode())
    response = Client().get(url)
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline;")


def test_the_ordinary_attachment_url_stays_a_download(client, world, logo_ticket):
    logo = attachment_named(logo_ticket, "logo.png")
    client.force_login(world.alice)
    response = client.get(reverse("attachment", args=[logo_ticket.number, logo.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="logo.png"'


def test_the_frame_costs_the_same_queries_for_one_and_many_images(client, world):
    client.force_login(world.alice)

    def ticket_with(n):
        return mail_with_images(
            world.info,
            "".join(f'<img src="cid:i{i}@example.net">' for i in range(n)),
            *[(f"i{i}.png", "image/png", png(), f"i{i}@example.net") for i in range(n)],
        )

    one, many = ticket_with(1), ticket_with(12)
    frame_html(client, one)
    with CaptureQueriesContext(connection) as few:
        assert len(image_urls(frame_html(client, one).content.decode())) == 1
    with CaptureQueriesContext(connection) as more:
        assert len(image_urls(frame_html(client, many).content.decode())) == 12
    assert len(more) == len(few)
