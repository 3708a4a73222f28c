"""Writing from the zoom: reply (templates, reply-all, attachments, next state),
forward, note, phone call, and new email and phone tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from helpline.actions import locks
from helpline.blobstore import store_blob
from helpline.mail import outbound
from helpline.models import (
    Article,
    ArticleChannel,
    OutboxMessage,
    Presence,
    Salutation,
    Signature,
    Template,
    TemplateAttachment,
    Ticket,
)
from tests.web import build_world, email_ticket, web_settings


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
    world.ticket.customer.name = "Jane Doe"
    world.ticket.customer.save()
    thanks = Template.objects.create(
        name="thanks", type="answer", text="Thank you for {{ original.subject }}."
    )
    thanks.queues.add(world.info)
    TemplateAttachment.objects.create(
        template=thanks,
        blob=store_blob(b"licence text"),
        filename="licence.txt",
        content_type="text/plain",
    )
    elsewhere = Template.objects.create(name="elsewhere", type="answer", text="No.")
    elsewhere.queues.add(world.secret)
    return world


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def reply_url(ticket, query=""):
    return reverse("reply", args=[ticket.number]) + query


def post_reply(client, ticket, **fields):
    data = {
        "to": "customer@example.net",
        "cc": "",
        "subject": f"Re: {ticket.title}",
        "body": "Thanks for writing.",
        "next_state": "closed successful",
        **fields,
    }
    return client.post(reply_url(ticket), data)


def test_the_reply_screen_offers_the_queues_answer_templates(alice_client, world):
    response = alice_client.get(reply_url(world.ticket))
    assert [t.name for t in response.context["templates"]] == ["thanks"]
    form = response.context["form"]
    assert form.initial["to"] == "customer@example.net"
    assert form.initial["body"].startswith("Dear Jane Doe,")
    assert "> Hello, I have a question." in form.initial["body"]
    assert form.initial["next_state"] == "closed successful"


def test_a_template_fills_the_text_and_brings_its_attachment(alice_client, world):
    thanks = Template.objects.get(name="thanks")
    response = alice_client.get(reply_url(world.ticket, f"?template={thanks.pk}"))
    body = response.context["form"].initial["body"]
    assert "Thank you for Question about an article." in body
    assert b"licence.txt" in response.content
    post_reply(alice_client, world.ticket, template=thanks.pk, body=body)
    article = world.ticket.articles.get(channel=ArticleChannel.EMAIL, incoming=False)
    assert [a.filename for a in article.attachments.all()] == ["licence.txt"]


def test_a_template_of_another_queue_is_not_used(alice_client, world):
    elsewhere = Template.objects.get(name="elsewhere")
    response = alice_client.get(reply_url(world.ticket, f"?template={elsewhere.pk}"))
    assert response.context["template"] is None
    assert "No." not in response.context["form"].initial["body"]


def test_sending_a_reply_queues_the_mail_and_sets_the_next_state(
    alice_client, world, smtp_sink
):
    upload = SimpleUploadedFile("answer.txt", b"see attached", "text/plain")
    response = post_reply(alice_client, world.ticket, attachments=[upload])
    assert response.status_code == 302
    assert response["Location"] == reverse("zoom", args=[world.ticket.number])
    outbound.send_due()
    assert len(smtp_sink.received) == 1
    message = smtp_sink.received[0].message
    assert message["To"] == "Jane Doe <customer@example.net>"  # the customer's name
    assert message["In-Reply-To"]
    assert [p.get_filename() for p in message.iter_attachments()] == ["answer.txt"]
    ticket = Ticket.objects.get(pk=world.ticket.pk)
    assert ticket.state.name == "closed successful"
    assert not Presence.objects.filter(ticket=ticket).exists()


def test_reply_all_puts_the_other_recipients_in_cc(alice_client, world):
    ticket = email_ticket(world.info, title="Many")
    Article.objects.filter(ticket=ticket).update(
        cc_addr="friend@example.org, info@helpline.test"
    )
    response = alice_client.get(reply_url(ticket, "?all=1"))
    assert response.context["form"].initial["cc"] == "friend@example.org"


def test_a_pending_next_state_needs_a_time(alice_client, world):
    response = post_reply(alice_client, world.ticket, next_state="pending reminder")
    assert response.status_code == 200
    assert "pending_until" in response.context["form"].errors
    assert not OutboxMessage.objects.exists()
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = post_reply(
        alice_client,
        world.ticket,
        next_state="pending reminder",
        pending_until=later,
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(pk=world.ticket.pk)
    assert ticket.state.name == "pending reminder"
    assert ticket.pending_until is not None


def test_bad_recipients_are_refused_in_the_form(alice_client, world):
    response = post_reply(alice_client, world.ticket, to="not an address")
    assert response.status_code == 200
    assert "to" in response.context["form"].errors
    assert not OutboxMessage.objects.exists()


def test_a_reply_to_a_ticket_locked_by_another_agent_is_refused_clearly(
    alice_client, world
):
    locks.lock_ticket(world.bob, world.ticket.pk)
    response = post_reply(alice_client, world.ticket)
    assert response.status_code == 409
    assert b"is locked by bob" in response.content
    assert b"Traceback" not in response.content
    assert not OutboxMessage.objects.exists()


def test_opening_the_reply_screen_announces_the_agent_as_replying(alice_client, world):
    alice_client.get(reply_url(world.ticket))
    presence = Presence.objects.get(agent=world.alice, ticket=world.ticket)
    assert presence.action == "replying"


def test_forward_sends_the_article_to_a_third_party(alice_client, world):
    response = alice_client.post(
        reverse("forward", args=[world.ticket.number]),
        {"to": "expert@example.org", "text": "Can you help?"},
    )
    assert response.status_code == 302
    out = OutboxMessage.objects.get()
    assert out.recipients == ["expert@example.org"]
    assert not out.article.visible_to_customer


def test_a_note_is_internal_and_may_carry_attachments(alice_client, world):
    response = alice_client.post(
        reverse("note", args=[world.ticket.number]),
        {
            "subject": "Checked",
            "text": "The permission is fine.",
            "attachments": [SimpleUploadedFile("a.txt", b"a", "text/plain")],
        },
    )
    assert response.status_code == 302
    note = world.ticket.articles.get(channel=ArticleChannel.INTERNAL)
    assert not note.visible_to_customer
    assert note.attachments.get().filename == "a.txt"


def test_an_empty_note_is_refused(alice_client, world):
    response = alice_client.post(
        reverse("note", args=[world.ticket.number]), {"text": ""}
    )
    assert response.status_code == 200
    assert "text" in response.context["form"].errors


def test_a_phone_call_is_recorded(alice_client, world):
    alice_client.post(
        reverse("phone", args=[world.ticket.number]),
        {"direction": "customer", "subject": "", "text": "Called about the photo."},
    )
    call = world.ticket.articles.get(channel=ArticleChannel.PHONE)
    assert call.sender_type == "customer"
    assert call.body_text == "Called about the photo."


def test_new_email_ticket(alice_client, world):
    fields = {
        "queue": world.info.pk,
        "to": "Jane <jane@example.net>",
        "customer_name": "Jane",
        "subject": "Your upload",
        "text": "Please send the licence.",
    }
    # The queue has a salutation and signature the agent has not seen: shown, unsent.
    shown = alice_client.post(reverse("new-email-ticket"), fields)
    assert shown.status_code == 200
    assert not Ticket.objects.filter(title="Your upload").exists()
    form = shown.context["form"]
    fields.update(
        text=form.initial["text"],
        shown_queue=form.initial["shown_queue"],
        shown_name=form.initial["shown_name"],
    )
    response = alice_client.post(reverse("new-email-ticket"), fields)
    ticket = Ticket.objects.get(title="Your upload")
    assert response["Location"] == reverse("zoom", args=[ticket.number])
    assert OutboxMessage.objects.get().recipients == ["jane@example.net"]


def test_new_email_ticket_only_offers_queues_the_agent_may_create_in(
    alice_client, world
):
    response = alice_client.get(reverse("new-email-ticket"))
    offered = {q.name for q in response.context["form"].fields["queue"].queryset}
    assert offered == {"Info", "Info::Sub"}
    response = alice_client.post(
        reverse("new-email-ticket"),
        {"queue": world.secret.pk, "to": "a@example.net", "subject": "s", "text": "t"},
    )
    assert response.status_code == 200
    assert "queue" in response.context["form"].errors


def test_new_phone_ticket(alice_client, world):
    response = alice_client.post(
        reverse("new-phone-ticket"),
        {
            "queue": world.info.pk,
            "customer_email": "caller@example.net",
            "customer_name": "Caller",
            "subject": "Phoned in",
            "text": "Wants to know about deletion.",
            "priority": 4,
        },
    )
    ticket = Ticket.objects.get(title="Phoned in")
    assert response["Location"] == reverse("zoom", args=[ticket.number])
    assert ticket.priority == 4
    assert ticket.customer.email == "caller@example.net"


def test_an_agent_with_note_permission_only_cannot_reply(client, world):
    from helpline.actions import admin
    from tests.support import make_agent

    reviewer = make_agent("reviewer")
    admin.grant(world.info.group, ["ro", "note"], agent=reviewer)
    client.force_login(reviewer)
    response = client.get(reply_url(world.ticket))
    assert response.status_code == 403
    assert b"permission" in response.content
    response = client.post(
        reverse("note", args=[world.ticket.number]), {"text": "A reviewer's note"}
    )
    assert response.status_code == 302
