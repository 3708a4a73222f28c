"""Redaction in the agent interface: the zoom offers it to who may redact, the form
lists exactly what can go and needs a reason (and the CSRF token), the zoom shows
where content was removed (at the same number of queries however many), and a
removed file or raw mail answers 410 with what happened to it, never a traceback."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpline.actions.articles import NewAttachment
from helpline.actions.merge import merge_tickets
from helpline.actions.redaction import Removal, redact
from helpline.models import ReadEvent, ReadKind
from tests.privacy.redaction_scene import (
    TEXT,
    documents_ticket,
    make_lead,
    make_stranger,
)
from tests.web import email_ticket, web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def lead(org):
    return make_lead(org)


@pytest.fixture
def stranger(db):
    return make_stranger()


@pytest.fixture
def ticket(org):
    return documents_ticket()


def logged_in(agent, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(agent)
    return client


def form_url(ticket) -> str:
    article = ticket.articles.get()
    return reverse("redact", args=[ticket.number, article.pk])


def test_the_zoom_offers_redaction_only_to_who_may_redact(org, lead, ticket):
    url = reverse("zoom", args=[ticket.number])
    assert form_url(ticket) in logged_in(lead).get(url).content.decode()
    assert form_url(ticket) not in logged_in(org.agent).get(url).content.decode()


def test_the_form_lists_what_can_go_and_removes_what_was_ticked(org, lead, ticket):
    client = logged_in(lead)
    article = ticket.articles.get()
    document = article.attachments.get()
    page = client.get(form_url(ticket))
    html = page.content.decode()
    assert page.status_code == 200
    for shown in ("Passport number Glorbex 9917.", "My documents", "passport.pdf"):
        assert shown in html
    assert "not removed: redact those articles too" in html
    assert 'name="csrfmiddlewaretoken"' in html
    # Showing the form read the article: recorded.
    assert ReadEvent.objects.filter(
        article_id=article.pk, kind=ReadKind.ARTICLE, agent_id=lead.pk
    ).exists()

    response = client.post(
        form_url(ticket),
        {"body": "on", "attachments": [str(document.pk)], "reason": "ID by mistake"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("zoom", args=[ticket.number])
    html = client.get(response["Location"]).content.decode()
    assert "Glorbex" not in html
    assert "My documents" in html
    assert "Text removed by redaction (ID by mistake) by lead on" in html
    assert "A file (application/pdf, 4.0\xa0KB) removed by redaction" in html


def test_a_removed_file_and_raw_mail_answer_410_with_what_happened(org, lead, ticket):
    article = ticket.articles.get()
    document = article.attachments.get()
    redact(
        lead,
        number=ticket.number,
        article_id=article.pk,
        removal=Removal(attachment_ids=frozenset([document.pk]), raw=True),
        reason="sent by mistake",
    )
    client = logged_in(org.agent)
    for url in (
        reverse("attachment", args=[ticket.number, document.pk]),
        reverse("attachment-image", args=[ticket.number, document.pk]),
        reverse("article-raw", args=[ticket.number, article.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 410, url
        html = response.content.decode()
        assert "removed by redaction on" in html
        assert "(sent by mistake)" in html
        assert "Traceback" not in html
    # A file that never was stays a plain "not found".
    missing = reverse("attachment", args=[ticket.number, document.pk + 1000])
    assert client.get(missing).status_code == 404


def test_the_form_needs_a_reason_and_something_ticked(org, lead, ticket):
    client = logged_in(lead)
    response = client.post(form_url(ticket), {"body": "on", "reason": " "})
    assert response.status_code == 200
    assert ticket.articles.get().body_text == TEXT
    response = client.post(form_url(ticket), {"reason": "nothing ticked"})
    assert response.status_code == 400
    assert "Say what to remove" in response.content.decode()


def test_the_form_refuses_rw_without_redact_and_hides_other_tickets(
    org, stranger, ticket
):
    for agent, status in ((org.agent, 403), (stranger, 404)):
        client = logged_in(agent)
        assert client.get(form_url(ticket)).status_code == status
        response = client.post(form_url(ticket), {"body": "on", "reason": "x"})
        assert response.status_code == status
        assert "Glorbex" not in response.content.decode()
    assert ticket.articles.get().body_text == TEXT


def test_the_form_needs_the_csrf_token(lead, ticket):
    client = logged_in(lead, enforce_csrf_checks=True)
    response = client.post(form_url(ticket), {"body": "on", "reason": "x"})
    assert response.status_code == 403
    assert ticket.articles.get().body_text == TEXT


def redacted_and_merged(lead, org, into, k: int) -> None:
    extra = email_ticket(
        org.info,
        body=f"secret {k}",
        attachments=[NewAttachment(f"f{k}.txt", "text/plain", b"x%d" % k)],
    )
    article = extra.articles.get()
    redact(
        lead,
        number=extra.number,
        article_id=article.pk,
        removal=Removal(
            body=True, attachment_ids=frozenset([article.attachments.get().pk])
        ),
        reason=f"reason {k}",
    )
    merge_tickets(lead, extra.pk, into.pk)


def test_the_zoom_costs_the_same_queries_with_many_redacted_articles(org, lead):
    ticket = email_ticket(org.info, body="first")
    redacted_and_merged(lead, org, ticket, 0)
    client = logged_in(lead)
    url = reverse("zoom", args=[ticket.number])
    client.get(url)  # the first visit records the agent's presence
    with CaptureQueriesContext(connection) as few:
        html = client.get(url).content.decode()
    assert html.count("removed by redaction (reason") == 2
    for k in range(1, 8):
        redacted_and_merged(lead, org, ticket, k)
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert html.count("removed by redaction (reason") == 16
    assert len(many) == len(few)
