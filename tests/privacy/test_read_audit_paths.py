"""Every way to read a ticket's content is in the read audit, exactly once, after the
permission check: the zoom (one event per page, one INSERT however long the ticket),
an article opened by htmx, the reply form that quotes one, attachments, inline
images, raw mail, the HTML view; the REST API; the command line; the administration
site.  A refused read records nothing; a read the audit cannot take is not served."""

from __future__ import annotations

import getpass
import io
import os
import re
from email.message import EmailMessage
from html import unescape

import pytest
from django.core.management import call_command, execute_from_command_line
from django.db import DatabaseError, connection, connections
from django.db.models.query import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.actions.articles import add_note
from helpline.mail import postmaster
from helpline.mail.intake import receive as store
from helpline.models import InboundMessage, Permission, ReadEvent
from tests.cli import fails, run
from tests.privacy.conftest import INFO, attachment_bytes, mail, receive
from tests.support import make_agent, make_group
from tests.web import png, web_settings

UA = "Mozilla/5.0 (X11) Firefox/140.0"
WEB = f"127.0.0.1 {UA}"


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def ticket(org):
    """A real mail with an HTML part and a PDF, through the real intake."""
    return receive(
        mail(
            subject="Passport copy",
            body="My passport number is X1234567.",
            attachments={"passport.pdf": attachment_bytes("PASSPORTWORD", 2000)},
        )
    )


@pytest.fixture
def reader(client, org):
    client.force_login(org.agent)
    client.defaults["HTTP_USER_AGENT"] = UA
    return client


@pytest.fixture
def outsider(client, db):
    """An agent with rw elsewhere, none on the queue: every read is refused."""
    agent = make_agent("outsider")
    admin.grant(make_group("elsewhere"), [Permission.RW], agent=agent)
    return agent


def events():
    return list(
        ReadEvent.objects.order_by("id").values_list(
            "agent_name",
            "ticket_number",
            "kind",
            "article_id",
            "attachment_id",
            "channel",
            "client",
        )
    )


def content(response) -> bytes:
    if response.streaming:
        return content(response)
    return response.content


def audit_inserts(queries) -> int:
    return sum(
        1
        for q in queries
        if q["sql"].startswith("INSERT") and "helpline_read_event" in q["sql"]
    )


def first_article(ticket):
    return ticket.articles.order_by("id").first()


def pdf_of(ticket):
    return first_article(ticket).attachments.get(filename="passport.pdf")


# --- the agent interface ---------------------------------------------------------------
def test_the_zoom_is_one_ticket_read(reader, org, ticket):
    response = reader.get(reverse("zoom", args=[ticket.number]))
    assert response.status_code == 200
    assert events() == [("reader", ticket.number, "ticket", None, None, "web", WEB)]
    event = ReadEvent.objects.get()
    assert (event.agent_id, event.ticket_id, event.customer_id) == (
        org.agent.pk,
        ticket.pk,
        ticket.customer_id,
    )
    assert event.request_id  # ties the read to the request's log line


def test_the_zoom_costs_one_insert_for_the_audit_however_many_articles(
    reader, org, ticket
):
    url = reverse("zoom", args=[ticket.number])
    with CaptureQueriesContext(connection) as few:
        assert reader.get(url).status_code == 200
    for k in range(40):
        add_note(org.agent, ticket.pk, f"note {k}")
    with CaptureQueriesContext(connection) as many:
        assert reader.get(url + "?all=1").status_code == 200
    assert audit_inserts(few) == audit_inserts(many) == 1
    assert [kind for _, _, kind, *_ in events()] == ["ticket", "ticket"]


def test_an_article_opened_in_the_zoom_is_an_article_read(reader, ticket):
    article = first_article(ticket)
    url = reverse("article", args=[ticket.number, article.pk])
    # Without htmx the browser is sent to the zoom, which records its own read.
    assert reader.get(url).status_code == 302
    assert events() == []
    response = reader.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"X1234567" in response.content
    assert events() == [
        ("reader", ticket.number, "article", article.pk, None, "web", WEB)
    ]


def test_the_reply_form_quoting_an_article_is_an_article_read(reader, ticket):
    article = first_article(ticket)
    response = reader.get(
        reverse("reply", args=[ticket.number]), {"article": article.pk}
    )
    assert response.status_code == 200
    assert "X1234567" in response.content.decode()
    assert events() == [
        ("reader", ticket.number, "article", article.pk, None, "web", WEB)
    ]


def test_an_attachment_download_is_an_attachment_read(reader, ticket):
    pdf = pdf_of(ticket)
    response = reader.get(reverse("attachment", args=[ticket.number, pdf.pk]))
    assert response.status_code == 200
    assert b"PASSPORTWORD" in content(response)
    assert events() == [
        ("reader", ticket.number, "attachment", pdf.article_id, pdf.pk, "web", WEB)
    ]


def test_the_raw_mail_is_a_raw_read(reader, ticket):
    article = first_article(ticket)
    response = reader.get(reverse("article-raw", args=[ticket.number, article.pk]))
    assert response.status_code == 200
    assert b"X1234567" in content(response)
    assert events() == [("reader", ticket.number, "raw", article.pk, None, "web", WEB)]


def test_the_html_view_is_an_html_read(reader, ticket):
    article = first_article(ticket)
    response = reader.get(reverse("article-html", args=[ticket.number, article.pk]))
    assert response.status_code == 200
    assert b"X1234567" in response.content
    assert events() == [("reader", ticket.number, "html", article.pk, None, "web", WEB)]


def logo_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Roe <jane.roe@example.net>"
    msg["To"] = INFO
    msg["Subject"] = "Our logo"
    msg["Message-ID"] = f"<{os.urandom(8).hex()}@example.net>"
    msg.set_content("See the logo.")
    msg.add_alternative('<p>Logo:</p><img src="cid:logo@example.net">', subtype="html")
    msg.get_payload()[1].add_related(
        png(4, 4), "image", "png", cid="<logo@example.net>", filename="logo.png"
    )
    return msg.as_bytes()


def test_an_inline_image_in_the_html_frame_is_an_inline_read(reader, org):
    """The frame's image requests come without the session cookie: the token names
    the agent, who is the one recorded."""
    ticket = receive(logo_mail())
    article = first_article(ticket)
    frame = reader.get(reverse("article-html", args=[ticket.number, article.pk]))
    (src,) = re.findall(r'<img src="([^"]+)"', frame.content.decode())
    logo = article.attachments.get(content_id="logo@example.net")
    image = Client(HTTP_USER_AGENT=UA).get(unescape(src))
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert events() == [
        ("reader", ticket.number, "html", article.pk, None, "web", WEB),
        ("reader", ticket.number, "inline", article.pk, logo.pk, "web", WEB),
    ]


def test_refused_and_missing_reads_record_nothing(client, outsider, reader, ticket):
    article = first_article(ticket)
    pdf = pdf_of(ticket)
    other = receive(mail(subject="Another ticket"))
    urls = [
        reverse("zoom", args=[ticket.number]),
        reverse("attachment", args=[ticket.number, pdf.pk]),
        reverse("attachment-image", args=[ticket.number, pdf.pk]),
        reverse("article-raw", args=[ticket.number, article.pk]),
        reverse("article-html", args=[ticket.number, article.pk]),
        reverse("article", args=[ticket.number, article.pk]),
    ]
    # The reader may see the ticket, but not these: parts of another ticket.
    for url in (
        reverse("attachment", args=[other.number, pdf.pk]),
        reverse("article-raw", args=[other.number, article.pk]),
        reverse("article-html", args=[other.number, article.pk]),
    ):
        assert reader.get(url).status_code == 404, url
    client.force_login(outsider)
    for url in urls:
        assert client.get(url, headers={"HX-Request": "true"}).status_code in (
            403,
            404,
        ), url
    assert events() == []


def test_a_read_the_audit_cannot_take_is_not_served(reader, ticket, monkeypatch):
    """Through the real views and middleware: 503, and none of the content."""
    original = QuerySet.bulk_create

    def broken(self, objs, *args, **kwargs):
        if self.model is ReadEvent:
            raise DatabaseError("disk full")
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", broken)
    pdf = pdf_of(ticket)
    for url in (
        reverse("zoom", args=[ticket.number]),
        reverse("attachment", args=[ticket.number, pdf.pk]),
    ):
        response = reader.get(url)
        assert response.status_code == 503, url
        assert response["Retry-After"] == "30"
        body = response.content
        assert b"X1234567" not in body and b"PASSPORTWORD" not in body
        assert b"could not be recorded" in body
    assert events() == []


# --- the REST API ------------------------------------------------------------------
@pytest.fixture
def api(client, org):
    token = create_token(org.agent, name="audit tests", scope="read").secret
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client.defaults["HTTP_USER_AGENT"] = "helpline-script/1.0"
    return client


API = "127.0.0.1 helpline-script/1.0"


def test_the_api_records_each_read_with_what_it_returned(api, ticket):
    article = first_article(ticket)
    pdf = pdf_of(ticket)
    base = f"/api/v1/tickets/{ticket.number}"
    for path in (
        "",
        f"/articles/{article.pk}",
        f"/articles/{article.pk}/attachments/{pdf.pk}",
        "/history",
    ):
        assert api.get(base + path).status_code == 200, path
    n = ticket.number
    assert events() == [
        ("reader", n, "ticket", None, None, "api", API),
        ("reader", n, "article", article.pk, None, "api", API),
        ("reader", n, "attachment", article.pk, pdf.pk, "api", API),
        ("reader", n, "history", None, None, "api", API),
    ]


def test_the_api_article_list_is_a_read_of_each_article_in_one_insert(api, org, ticket):
    notes = [add_note(org.agent, ticket.pk, f"note {k}").pk for k in range(3)]
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/v1/tickets/{ticket.number}/articles?limit=3")
    assert response.status_code == 200
    shown = [item["id"] for item in response.json()["items"]]
    assert shown == [first_article(ticket).pk, *notes[:2]]
    assert audit_inserts(queries) == 1
    assert [(kind, article) for _, _, kind, article, *_ in events()] == [
        ("article", pk) for pk in shown
    ]


def test_the_api_records_nothing_for_a_ticket_it_refuses(client, outsider, ticket):
    token = create_token(outsider).secret
    article = first_article(ticket)
    for path in ("", "/articles", f"/articles/{article.pk}", "/history"):
        response = client.get(
            f"/api/v1/tickets/{ticket.number}{path}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 404, path
    assert events() == []


# --- the command line --------------------------------------------------------------
@pytest.fixture
def command_line(monkeypatch):
    """Run ``helpline ...`` as the console script does (``run_from_argv``), in this
    process: Django closes the connections at the end, which would close the
    test's own."""
    monkeypatch.setattr(connections, "close_all", lambda: None)
    return lambda *argv: execute_from_command_line(["helpline", *argv])


def test_ticket_show_is_a_ticket_read_named_by_its_command_line(
    org, ticket, capsys, command_line
):
    command_line("ticket", "show", ticket.number, "--as", "reader")
    assert "X1234567" in capsys.readouterr().out
    client = f"{getpass.getuser()}: helpline ticket show {ticket.number} --as reader"
    assert events() == [("reader", ticket.number, "ticket", None, None, "cli", client)]


def test_ticket_show_in_process_and_refused(org, ticket, outsider):
    run("ticket", "show", ticket.number, "--as", "reader")
    error = fails("ticket", "show", ticket.number, "--as", "outsider")
    assert error.returncode == 1
    assert events() == [
        (
            "reader",
            ticket.number,
            "ticket",
            None,
            None,
            "cli",
            f"{getpass.getuser()}: helpline ticket (in-process)",
        )
    ]


def test_the_raw_mail_of_a_ticket_printed_by_the_operator_is_a_raw_read(
    org, ticket, capsysbinary, command_line
):
    message = InboundMessage.objects.get(ticket=ticket)
    command_line("mail", "show", str(message.pk), "--raw")
    assert b"X1234567" in capsysbinary.readouterr().out
    client = f"{getpass.getuser()}: helpline mail show {message.pk} --raw"
    assert events() == [
        ("", ticket.number, "raw", message.article_id, None, "cli", client)
    ]
    # What happened to it (no content) is not a read.
    call_command("mail", "show", str(message.pk), stdout=io.StringIO())
    assert len(events()) == 1


# --- the administration site ---------------------------------------------------------
def test_the_admin_raw_download_of_a_ticket_mail_is_a_raw_read(client, org, ticket):
    boss = make_agent("boss", is_admin=True)
    client.force_login(boss)
    message = InboundMessage.objects.get(ticket=ticket)
    url = reverse("admin:helpline_inboundmessage_raw", args=[message.pk])
    assert client.get(url).status_code == 404  # no access to the ticket: no read
    assert events() == []
    admin.grant(org.info.group, [Permission.RO], agent=boss)
    response = client.get(url, headers={"user-agent": UA})
    assert response.status_code == 200
    assert b"X1234567" in content(response)
    assert events() == [
        ("boss", ticket.number, "raw", message.article_id, None, "admin", WEB)
    ]


def test_quarantined_mail_names_no_ticket_and_is_not_in_the_audit(client, db):
    """The read audit is of tickets: mail on no ticket (the quarantine, read by
    holders of handle_unrouted_mail) is downloaded without an event
    (docs/data-protection.md says so)."""
    boss = make_agent("boss", is_admin=True)
    client.force_login(boss)
    message, _ = store(b"From: a@example.net\nSubject: x\n\nbody", transport="test")
    postmaster.process_inbound(message.pk)
    message.refresh_from_db()
    assert message.ticket_id is None
    url = reverse("admin:helpline_inboundmessage_raw", args=[message.pk])
    assert content(client.get(url)).endswith(b"body")
    assert events() == []
