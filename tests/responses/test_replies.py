"""Replies, forwards and new email tickets: what the customer receives."""

from __future__ import annotations

import pytest

from helpline.actions import admin, tickets
from helpline.blobstore import store_blob
from helpline.errors import InvalidInput, NotFound
from helpline.mail import outbound
from helpline.models import (
    OutboxMessage,
    Permission,
    Salutation,
    Signature,
    Template,
    TemplateAttachment,
)
from helpline.responses import replies
from tests.support import make_agent, make_group, make_queue, make_ticket


@pytest.fixture
def desk(db):
    group = make_group("info")
    queue = make_queue(
        "info-en",
        group=group,
        email="info-en@helpline.localhost",
        display_name="Wikipedia",
    )
    queue.salutation = Salutation.objects.create(
        name="hello", text="Dear {{ customer.name }},"
    )
    queue.signature = Signature.objects.create(
        name="sig", text="-- \n{{ agent.name }}, Wikipedia VRT"
    )
    queue.save()
    agent = make_agent("alice", first_name="Alice", last_name="Smith")
    admin.grant(group, [Permission.RW], agent=agent)
    template = Template.objects.create(
        name="thanks", type="answer", text="Thank you for {{ original.subject }}."
    )
    template.queues.add(queue)
    return queue, agent, template


def _incoming(queue, **kw):
    ticket = make_ticket(queue, customer="jane@example.net", title="Wrong date", **kw)
    article = ticket.articles.get()
    article.message_id = "orig-1@example.net"
    article.references = "root@example.net"
    article.from_addr = '"Jane Doe" <jane@example.net>'
    article.to_addr = "info-en@helpline.localhost, friend@example.org"
    article.save()
    ticket.customer.name = "Jane Doe"
    ticket.customer.save()
    return ticket


@pytest.mark.django_db
def test_a_reply_threads_and_carries_salutation_template_signature_and_quote(
    desk, smtp_sink
):
    queue, agent, _ = desk
    ticket = _incoming(queue, body="The date is wrong.")
    article = replies.reply(agent, ticket.pk, template="thanks")
    outbound.send_due()
    msg = smtp_sink.received[0].message
    assert msg["Subject"] == f"Re: [Ticket#{ticket.number}] Wrong date"
    assert msg["In-Reply-To"] == "<orig-1@example.net>"
    assert msg["References"] == "<root@example.net> <orig-1@example.net>"
    assert msg["Message-ID"] == f"<{article.message_id}>"
    assert article.message_id.endswith("@helpline.localhost")
    assert msg["To"] == "Jane Doe <jane@example.net>"  # the customer's own name
    assert msg["From"] == "Alice Smith via Wikipedia <info-en@helpline.localhost>"
    body = msg.get_content()
    assert body.index("Dear Jane Doe,") < body.index("Thank you for Wrong date.")
    assert body.index("Thank you") < body.index("Alice Smith, Wikipedia VRT")
    assert "> The date is wrong." in body
    assert article.sender_type == "agent" and not article.incoming


@pytest.mark.django_db
def test_reply_all_copies_other_recipients_but_never_our_own_address(desk):
    queue, agent, _ = desk
    ticket = _incoming(queue)
    article = replies.reply(agent, ticket.pk, text="See above.", reply_all=True)
    assert article.to_addr == "jane@example.net"
    assert article.cc_addr == "friend@example.org"


@pytest.mark.django_db
def test_a_reply_can_close_the_ticket(desk):
    queue, agent, _ = desk
    ticket = _incoming(queue)
    replies.reply(agent, ticket.pk, text="Done.", next_state="closed successful")
    ticket.refresh_from_db()
    assert ticket.state.name == "closed successful"
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db
def test_a_reply_needs_text_and_a_template_of_the_queue(desk):
    queue, agent, _ = desk
    ticket = _incoming(queue)
    with pytest.raises(InvalidInput, match="needs a text"):
        replies.reply(agent, ticket.pk)
    other = Template.objects.create(name="elsewhere", type="answer", text="x")
    other.queues.add(make_queue("other"))
    with pytest.raises(NotFound, match="No template"):
        replies.reply(agent, ticket.pk, template="elsewhere")
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_template_attachments_go_out_with_the_reply(desk, smtp_sink):
    queue, agent, template = desk
    TemplateAttachment.objects.create(
        template=template,
        blob=store_blob(b"%PDF-1.4 form"),
        filename="licence-form.pdf",
        content_type="application/pdf",
    )
    replies.reply(agent, _incoming(queue).pk, template="thanks")
    outbound.send_due()
    [part] = list(smtp_sink.received[0].message.iter_attachments())
    assert part.get_filename() == "licence-form.pdf"
    assert part.get_content() == b"%PDF-1.4 form"


@pytest.mark.django_db
def test_replying_to_a_ticket_locked_by_someone_else_is_refused(desk):
    from helpline.actions import locks
    from helpline.errors import TicketLocked

    queue, agent, _ = desk
    bob = make_agent("bob")
    admin.grant(queue.group, [Permission.RW], agent=bob)
    ticket = _incoming(queue)
    locks.lock_ticket(bob, ticket.pk)
    with pytest.raises(TicketLocked):
        replies.reply(agent, ticket.pk, text="Mine!")
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_a_forward_carries_the_attachments_and_is_hidden_from_the_customer(
    desk, smtp_sink
):
    from helpline.actions.articles import NewArticle, NewAttachment, add_article

    queue, agent, _ = desk
    ticket = _incoming(queue)
    source = add_article(
        agent,
        ticket.pk,
        NewArticle(
            channel="email",
            sender_type="customer",
            body_text="see photo",
            attachments=[NewAttachment("photo.jpg", "image/jpeg", b"\xff\xd8jpeg")],
        ),
    )
    article = replies.forward(agent, ticket.pk, source.pk, to=["lawyer@example.org"])
    article.refresh_from_db()
    assert not article.visible_to_customer
    outbound.send_due()
    msg = smtp_sink.received[0].message
    assert msg["Subject"].startswith(f"Fwd: [Ticket#{ticket.number}]")
    assert [p.get_filename() for p in msg.iter_attachments()] == ["photo.jpg"]


@pytest.mark.django_db
def test_a_new_email_ticket_starts_with_the_mail_it_sends(desk):
    queue, agent, _ = desk
    ticket, article = replies.create_email_ticket(
        agent,
        queue=queue,
        to="Ann <ann@example.org>",
        subject="Your photo",
        text="Hello",
    )
    assert ticket.state.name == "open"
    assert ticket.customer.email == "ann@example.org"
    assert list(ticket.articles.all()) == [article]
    assert article.subject == f"[Ticket#{ticket.number}] Your photo"


@pytest.mark.django_db
def test_a_queue_without_a_system_address_cannot_send(desk):
    _, agent, _ = desk
    bare = make_queue("bare", group=desk[0].group)
    ticket = make_ticket(bare)
    with pytest.raises(InvalidInput, match="no system address"):
        replies.reply(agent, ticket.pk, text="hi")


@pytest.mark.django_db
def test_closing_after_reply_unlocks(desk):
    queue, agent, _ = desk
    ticket = _incoming(queue)
    replies.reply(agent, ticket.pk, text="x")
    ticket = tickets.close_ticket(agent, ticket.pk, note="done")
    assert not ticket.locked
