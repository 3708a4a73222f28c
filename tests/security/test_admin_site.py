"""The administration site gives no implicit access to tickets (docs/permissions.md).

Every URL the admin site registers (each model's list, add, change, history, delete
and custom views, the site's own views) is requested by a superuser holding no grant,
with ids that are missing, malformed and those of another queue's mail: no answer is a
server error, and no answer contains anything of a ticket the superuser may not read.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import URLPattern, URLResolver

from helpline.actions import admin as admin_actions
from helpline.mail import outbound, postmaster
from helpline.mail.intake import receive
from helpline.models import Article, InboundMessage, InboundStatus
from tests.support import make_agent, make_group, make_queue, make_ticket

SECRETS = ("Zanzibar-title", "Quokka-body", "wombat-sender@example.net")
MALFORMED = ["abc", "-1", "99999999999999999999", "0", "1.5", "%00", "999999"]


def _mail(to: str, marker: str) -> bytes:
    return (
        f"From: {marker}-{SECRETS[2]}\nTo: {to}\nMessage-ID: <{marker}@example.net>\n"
        f"Subject: {marker} {SECRETS[0]}\n\n{marker} {SECRETS[1]}\n"
    ).encode()


@pytest.fixture
def world(db) -> dict[str, Any]:
    """A foreign queue with a ticket, received mail and outgoing mail on it; the
    superuser ("root") holds no grant at all."""
    root = make_agent("root", is_admin=True)
    foreign = make_queue("Private", group=make_group("private"), email="priv@hl.test")
    ticket = make_ticket(foreign, title=f"T {SECRETS[0]}", body=f"B {SECRETS[1]}")
    message, _ = receive(
        _mail("priv@hl.test", "in"),
        transport="test",
        envelope_recipients=["priv@hl.test"],
    )
    postmaster.process_inbound(message.pk)
    message.refresh_from_db()
    assert message.status == InboundStatus.PROCESSED and message.ticket_id
    article = Article.objects.filter(ticket=ticket).first()
    with transaction.atomic():
        out = outbound.queue_message(
            _mail("x@example.net", "out"),
            message_id="out@example.net",
            envelope_from="priv@hl.test",
            recipients=[SECRETS[2]],
            article=article,
        )
    return {"root": root, "ticket": ticket, "inbound": message, "outbox": out}


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    """Every admin URL as a route with ``<converter:name>`` placeholders."""
    found = []
    for p in patterns:
        route = str(p.pattern)
        if route.startswith("^"):  # the app index: ^(?P<app_label>a|b)/$
            route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route).strip("^$")
        if isinstance(p, URLResolver):
            found += _routes(p.url_patterns, prefix + route)
        elif isinstance(p, URLPattern):
            found.append(prefix + route)
    return found


def _fill(route: str, value: str) -> str:
    return "/admin/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


def _foreign_ids(world: dict[str, Any]) -> list[str]:
    return [
        str(world["inbound"].pk),
        str(world["outbox"].pk),
        str(world["ticket"].pk),
        str(Article.objects.filter(ticket=world["ticket"]).first().pk),
    ]


def _problems(response: Any, url: str) -> list[str]:
    if response.status_code >= 500:
        return [f"{url}: {response.status_code}"]
    body = b"".join(response) if response.streaming else response.content
    return [f"{url} shows {s!r}" for s in SECRETS if s.encode() in body]


@pytest.mark.django_db
def test_every_admin_url_withholds_foreign_ticket_mail_and_never_fails(world, client):
    client.force_login(world["root"])
    routes = _routes(admin.site.get_urls())
    assert any(
        r.startswith("helpline/inboundmessage/<") and r.endswith("/raw/")
        for r in routes
    )
    assert any("outboxmessage/<path:object_id>/change/" in r for r in routes)
    values = MALFORMED + _foreign_ids(world)
    client.raise_request_exception = False
    requested, problems = 0, []
    for route in routes:
        if "logout" in route:
            continue
        urls = [_fill(route, v) for v in values] if "<" in route else [_fill(route, "")]
        for url in dict.fromkeys(urls):
            problems += _problems(client.get(url), url)
            problems += _problems(client.get(url, {"q": "Zanzibar"}), url + "?q=")
            problems += _problems(client.post(url, {"post": "yes"}), "POST " + url)
            requested += 1
    assert requested > 100
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
def test_the_same_mail_is_shown_once_the_administrator_may_read_the_queue(
    world, client
):
    """The control: what the test above must not find is there for a reader."""
    root = world["root"]
    client.force_login(root)
    inbound = world["inbound"]
    raw = client.get(f"/admin/helpline/inboundmessage/{inbound.pk}/raw/")
    assert raw.status_code == 404
    admin_actions.grant(world["ticket"].queue.group, ["ro"], agent=root)
    raw = client.get(f"/admin/helpline/inboundmessage/{inbound.pk}/raw/")
    assert SECRETS[1].encode() in raw.content
    assert raw["Content-Disposition"].startswith("attachment")
    page = client.get(f"/admin/helpline/outboxmessage/{world['outbox'].pk}/change/")
    assert SECRETS[2] in page.content.decode()


@pytest.mark.django_db
def test_outbox_state_stays_visible_without_its_content(world, client):
    client.force_login(world["root"])
    page = client.get(f"/admin/helpline/outboxmessage/{world['outbox'].pk}/change/")
    assert page.status_code == 200
    assert "queued" in page.content.decode()
    listing = client.get("/admin/helpline/outboxmessage/").content.decode()
    assert "not shown: no access to the ticket" in listing


@pytest.mark.django_db
def test_quarantined_mail_needs_the_unrouted_mail_permission(db, client):
    """Staff without ``helpline.handle_unrouted_mail`` see no quarantined mail; with
    it, they may download (never view) it."""
    from django.contrib.auth.models import Permission as DjangoPermission

    staff = make_agent("staff")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    for codename in ("view_inboundmessage", "change_inboundmessage"):
        staff.user_permissions.add(DjangoPermission.objects.get(codename=codename))
    message, _ = receive(_mail("nobody@hl.test", "q"), transport="test")
    postmaster.process_inbound(message.pk)  # no queue at all: quarantined
    assert InboundMessage.objects.get(pk=message.pk).status == "quarantined"
    client.force_login(staff)
    url = f"/admin/helpline/inboundmessage/{message.pk}/raw/"
    assert client.get(url).status_code == 404
    assert (
        "Zanzibar" not in client.get("/admin/helpline/inboundmessage/").content.decode()
    )
    staff.user_permissions.add(
        DjangoPermission.objects.get(codename="handle_unrouted_mail")
    )
    client.force_login(staff)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert SECRETS[1].encode() in response.content
