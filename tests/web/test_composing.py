"""Composing: a template never costs typed text, and what the form shows is what the
customer gets, byte for byte (through the real outbox and SMTP sink)."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from helpline.mail import outbound
from helpline.models import (
    Article,
    ArticleChannel,
    OutboxMessage,
    Salutation,
    Signature,
    Template,
    Ticket,
)
from helpline.web.views.compose import insert_template
from tests.web import build_world, web_settings

TYPED = "I looked at your photo; it is a fine one.\nTwo more lines\nof my own."


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    world = build_world()
    world.info.salutation = Salutation.objects.create(
        name="hello", text="Dear {{ customer.name }},"
    )
    world.info.signature = Signature.objects.create(
        name="sig", text="-- \n{{ agent.name }}, the volunteer team"
    )
    world.info.save()
    world.sub.salutation = Salutation.objects.create(
        name="hallo", text='Hallo {{ customer.name|default:"zusammen" }}!'
    )
    world.sub.signature = Signature.objects.create(name="sig2", text="Grüße, Sub")
    world.sub.save()
    world.ticket.customer.name = "Jane Doe"
    world.ticket.customer.save()
    thanks = Template.objects.create(
        name="thanks", type="answer", text="Thank you for {{ original.subject }}."
    )
    thanks.queues.add(world.info)
    elsewhere = Template.objects.create(name="elsewhere", type="answer", text="No.")
    elsewhere.queues.add(world.secret)
    return world


@pytest.fixture
def alice(client, world):
    client.force_login(world.alice)
    return client


def textarea(response, name: str) -> str:
    """The text a browser shows in the text area ``name`` (HTML drops the first
    line break after the tag)."""
    page = response.content.decode()
    found = re.search(
        rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, flags=re.S
    )
    assert found, f"no textarea {name}"
    text = html.unescape(found.group(1))
    return text[1:] if text.startswith("\n") else text


def as_browser_posts(text: str) -> str:
    return text.replace("\n", "\r\n")  # browsers send a text area's lines with CRLF


def reply_post(world, body: str, **fields) -> dict:
    return {
        "to": "customer@example.net",
        "cc": "",
        "subject": f"Re: {world.ticket.title}",
        "body": body,
        "next_state": "open",
        **fields,
    }


def test_the_reply_form_shows_salutation_a_place_to_write_signature_and_quote(
    alice, world
):
    response = alice.get(reverse("reply", args=[world.ticket.number]))
    body = textarea(response, "body")
    assert body.startswith("Dear Jane Doe,\n\n\n\n-- \nAlice A, the volunteer team\n")
    assert "\n> Hello, I have a question.\n" in body
    assert body.endswith("\n")
    insert_at = re.search(rb'data-insert-at="(\d+)"', response.content)
    assert insert_at and int(insert_at.group(1)) == len("Dear Jane Doe,\n\n")


def test_a_customer_without_a_name_gets_no_dear_comma(alice, world):
    world.ticket.customer.name = ""
    world.ticket.customer.save()
    response = alice.get(reverse("reply", args=[world.ticket.number]))
    body = textarea(response, "body")
    assert body.startswith("Dear,\n")
    assert "Dear ," not in body


def test_inserting_a_template_without_javascript_keeps_the_typed_text(alice, world):
    url = reverse("reply", args=[world.ticket.number])
    shown = textarea(alice.get(url), "body")
    typed = shown.replace("Dear Jane Doe,\n\n", f"Dear Jane Doe,\n\n{TYPED}", 1)
    thanks = Template.objects.get(name="thanks")
    response = alice.post(
        url,
        reply_post(
            world,
            as_browser_posts(typed),
            subject="My own subject",
            pick=thanks.pk,
            use_template="insert",
        ),
    )
    assert response.status_code == 200
    body = textarea(response, "body")
    assert body.startswith(
        f"Dear Jane Doe,\n\n{TYPED}\n\nThank you for Question about an article.\n\n"
        "-- \nAlice A"
    )
    assert "> Hello, I have a question." in body
    assert response.context["form"].initial["subject"] == "My own subject"
    assert b'name="template" id="id_template_used" value="%d"' % thanks.pk in (
        response.content
    )
    assert not OutboxMessage.objects.exists()  # nothing sent


def test_replacing_the_whole_text_with_a_template_is_asked_for(alice, world):
    url = reverse("reply", args=[world.ticket.number])
    thanks = Template.objects.get(name="thanks")
    response = alice.post(
        url,
        reply_post(world, "whatever I typed", pick=thanks.pk, use_template="replace"),
    )
    body = textarea(response, "body")
    assert "whatever I typed" not in body
    assert body.startswith(
        "Dear Jane Doe,\n\nThank you for Question about an article.\n\n-- \n"
    )
    assert not OutboxMessage.objects.exists()


def test_a_template_of_another_queue_is_not_inserted(alice, world):
    url = reverse("reply", args=[world.ticket.number])
    elsewhere = Template.objects.get(name="elsewhere")
    response = alice.post(
        url, reply_post(world, TYPED, pick=elsewhere.pk, use_template="insert")
    )
    assert textarea(response, "body") == TYPED + "\n"
    answer = alice.get(
        reverse("reply-template", args=[world.ticket.number]),
        {"template": elsewhere.pk},
    )
    assert answer.status_code == 404


def test_the_template_endpoint_renders_the_template_for_this_reply(alice, world):
    thanks = Template.objects.get(name="thanks")
    answer = alice.get(
        reverse("reply-template", args=[world.ticket.number]),
        {"template": thanks.pk},
    )
    assert answer.status_code == 200
    data = answer.json()
    assert data["text"] == "Thank you for Question about an article."
    assert data["template"] == thanks.pk
    assert data["body"].startswith("Dear Jane Doe,\n\nThank you for")
    assert data["insert_at"] == len("Dear Jane Doe,\n\n")


def test_the_template_endpoint_answers_only_who_may_reply(client, world):
    thanks = Template.objects.get(name="thanks")
    client.force_login(world.eve)  # Secret only: cannot see the Info ticket
    answer = client.get(
        reverse("reply-template", args=[world.ticket.number]),
        {"template": thanks.pk},
    )
    assert answer.status_code == 404
    assert b"Thank you" not in answer.content


def test_the_reply_sent_is_the_text_shown_byte_for_byte(alice, world, smtp_sink):
    url = reverse("reply", args=[world.ticket.number])
    shown = textarea(alice.get(url), "body")
    # Text in several scripts and a long line: the mail picks 8bit, QP or base64.
    typed = "Grüße — спасибо — ありがとう  \n" + "x" * 1200 + "\n\tindented"
    text = shown.replace("Dear Jane Doe,\n\n", f"Dear Jane Doe,\n\n{typed}", 1)
    response = alice.post(url, reply_post(world, as_browser_posts(text)))
    assert response.status_code == 302
    outbound.send_due()
    [received] = smtp_sink.received
    part = received.message.get_body(("plain",))
    # MIME writes a text's line breaks as CRLF; every other byte is the form's.
    assert part.get_payload(decode=True) == text.replace("\n", "\r\n").encode()
    article = Article.objects.get(ticket=world.ticket, incoming=False)
    assert article.body_text == text


def test_a_new_email_ticket_shows_salutation_and_signature(alice, world):
    response = alice.get(reverse("new-email-ticket"), {"queue": world.info.pk})
    assert (
        textarea(response, "text") == "Dear,\n\n\n\n-- \nAlice A, the volunteer team\n"
    )


def test_a_new_email_ticket_sends_exactly_the_text_shown(alice, world, smtp_sink):
    url = reverse("new-email-ticket")
    fields = {
        "queue": world.sub.pk,
        "to": "jane@example.net",
        "customer_name": "",
        "subject": "Your upload",
        "text": TYPED,
        "prepare": "1",
    }
    shown = alice.post(url, fields)
    text = textarea(shown, "text")
    assert text == f"Hallo zusammen!\n\n{TYPED}\n\nGrüße, Sub\n"
    # Another queue and a name: the frame changes, the typed text stays; unsent.
    fields.update(
        queue=world.info.pk,
        customer_name="Jane Doe",
        text=as_browser_posts(text),
        shown_queue=str(world.sub.pk),
        shown_name="",
    )
    del fields["prepare"]
    again = alice.post(url, fields)
    assert not Ticket.objects.filter(title="Your upload").exists()
    text = textarea(again, "text")
    assert text == (f"Dear Jane Doe,\n\n{TYPED}\n\n-- \nAlice A, the volunteer team\n")
    fields.update(text=as_browser_posts(text), shown_queue=str(world.info.pk))
    fields["shown_name"] = "Jane Doe"
    sent = alice.post(url, fields)
    assert sent.status_code == 302
    outbound.send_due()
    [received] = smtp_sink.received
    part = received.message.get_body(("plain",))
    assert part.get_payload(decode=True) == text.replace("\n", "\r\n").encode()
    ticket = Ticket.objects.get(title="Your upload")
    assert ticket.articles.get(channel=ArticleChannel.EMAIL).body_text == text


SIG = "-- \nAlice"
QUOTE = "On 2026-01-02 10:00, jane@example.net wrote:\n> hi"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # After the agent's text, before the signature.
        (f"Dear Jane,\n\nMine.\n\n{SIG}\n", f"Dear Jane,\n\nMine.\n\nT.\n\n{SIG}\n"),
        # The empty place to write in is filled, not kept.
        (f"Dear Jane,\n\n\n\n{SIG}\n", f"Dear Jane,\n\nT.\n\n{SIG}\n"),
        # No signature: before the quote.
        (f"Mine.\n\n{QUOTE}\n", f"Mine.\n\nT.\n\n{QUOTE}\n"),
        # Neither: at the end.
        ("Mine.", "Mine.\n\nT.\n"),
        ("", "T.\n"),
        # CRLF as posted.
        ("Mine.\r\n\r\n-- \r\nAlice\r\n", f"Mine.\n\nT.\n\n{SIG}\n"),
    ],
)
def test_without_a_cursor_a_template_goes_after_the_agents_text(body, expected):
    assert insert_template(body, "T.", SIG) == expected


# --- note and forward templates --------------------------------------------------


@pytest.fixture
def note_and_forward_templates(world):
    checked = Template.objects.create(
        name="checked", type="note", text="Licence checked for {{ ticket.number }}."
    )
    checked.queues.add(world.info)
    fwd = Template.objects.create(
        name="to legal", type="forward", text="Legal, please look at this."
    )
    fwd.queues.add(world.info)
    return checked, fwd


def test_the_note_form_offers_note_templates_only(
    alice, world, note_and_forward_templates
):
    response = alice.get(reverse("note", args=[world.ticket.number]))
    assert [t.name for t in response.context["templates"]] == ["checked"]
    response = alice.get(reverse("forward", args=[world.ticket.number]))
    assert [t.name for t in response.context["templates"]] == ["to legal"]


def test_a_note_template_without_javascript_keeps_the_typed_note(
    alice, world, note_and_forward_templates
):
    checked, _ = note_and_forward_templates
    url = reverse("note", args=[world.ticket.number])
    response = alice.post(
        url,
        {
            "subject": "Mine",
            "text": "My own observation.",
            "pick": checked.pk,
            "use_template": "insert",
        },
    )
    assert response.status_code == 200
    assert textarea(response, "text") == (
        f"My own observation.\n\nLicence checked for {world.ticket.number}.\n"
    )
    assert response.context["form"].initial["subject"] == "Mine"
    assert not world.ticket.articles.filter(channel=ArticleChannel.INTERNAL).exists()


def test_a_forward_template_replaces_on_request(
    alice, world, note_and_forward_templates
):
    _, fwd = note_and_forward_templates
    article = world.ticket.articles.first()
    response = alice.post(
        reverse("forward", args=[world.ticket.number]),
        {
            "article": article.pk,
            "to": "legal@example.org",
            "text": "old words",
            "pick": fwd.pk,
            "use_template": "replace",
        },
    )
    assert textarea(response, "text") == "Legal, please look at this.\n"
    assert response.context["form"].initial["to"] == "legal@example.org"
    assert not OutboxMessage.objects.exists()


def test_the_ticket_template_endpoint_checks_type_queue_and_access(
    alice, client, world, note_and_forward_templates
):
    checked, fwd = note_and_forward_templates
    url = reverse("ticket-template", args=[world.ticket.number])
    answer = alice.get(url, {"type": "note", "template": checked.pk})
    assert answer.json()["text"] == f"Licence checked for {world.ticket.number}."
    assert alice.get(url, {"type": "forward", "template": fwd.pk}).status_code == 200
    # A template of another type, an unknown type, another agent's ticket: 404.
    assert alice.get(url, {"type": "note", "template": fwd.pk}).status_code == 404
    assert alice.get(url, {"type": "answer", "template": fwd.pk}).status_code == 404
    client.force_login(world.eve)
    answer = client.get(url, {"type": "note", "template": checked.pk})
    assert answer.status_code == 404
    assert b"Licence" not in answer.content
