"""``ticket reply`` and ``outbox list|send|retry``: answering and the outbox from a shell."""

from __future__ import annotations

import io
import json

import pytest

from helpline.actions import admin
from helpline.mail import outbound
from helpline.models import (
    OutboxMessage,
    OutboxStatus,
    Permission,
    Salutation,
    Signature,
    Template,
)
from tests.cli import fails, run
from tests.smtp_sink import free_port
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


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
    queue.signature = Signature.objects.create(name="sig", text="-- \nWikipedia VRT")
    queue.save()
    agent = make_agent("alice", first_name="Alice", last_name="Smith")
    admin.grant(group, [Permission.RW], agent=agent)
    template = Template.objects.create(
        name="thanks",
        type="answer",
        text="Thank you for writing about {{ ticket.title }}.",
    )
    template.queues.add(queue)
    ticket = make_ticket(
        queue, customer="jane@example.net", title="Wrong date", body="It is wrong."
    )
    article = ticket.articles.get()
    article.message_id = "orig-1@example.net"
    article.from_addr = "Jane Doe <jane@example.net>"
    article.to_addr = "info-en@helpline.localhost, friend@example.org"
    article.save()
    ticket.customer.name = "Jane Doe"
    ticket.customer.save()
    return ticket


# --- ticket reply ---------------------------------------------------------------------
def test_reply_with_a_template_sends_a_threaded_answer_through_the_outbox(
    desk, smtp_sink
):
    out = run("ticket", "reply", desk.number, "--as", "alice", "--template", "thanks")
    row = OutboxMessage.objects.get()
    assert out.startswith(f"Reply to jane@example.net queued as outbox {row.pk} ")
    assert row.status == OutboxStatus.QUEUED
    assert run("outbox", "send") == "1 sent, 0 to retry later, 0 failed.\n"
    message = smtp_sink.received[0].message
    assert message["In-Reply-To"] == "<orig-1@example.net>"
    assert message["Subject"] == f"Re: [Ticket#{desk.number}] Wrong date"
    body = message.get_content()
    assert "Dear Jane Doe," in body
    assert "Thank you for writing about Wrong date." in body
    assert "> It is wrong." in body
    desk.refresh_from_db()
    assert desk.locked and desk.owner.username == "alice"


def test_reply_all_with_a_body_file_and_a_next_state_in_json(desk, tmp_path):
    text = tmp_path / "answer.txt"
    text.write_text("Fixed, thank you.\n", encoding="utf-8")
    out = run(
        "ticket",
        "reply",
        desk.number,
        "--as",
        "alice",
        "--body-file",
        str(text),
        "--reply-all",
        "--state",
        "closed successful",
        "--json",
    )
    data = json.loads(out)
    assert data["to"] == "jane@example.net"
    assert data["cc"] == "friend@example.org"
    assert data["outbox_status"] == "queued"
    article = desk.articles.get(pk=data["article_id"])
    assert "Fixed, thank you." in article.body_text
    desk.refresh_from_db()
    assert desk.state.name == "closed successful"


def test_reply_reads_the_text_from_stdin(desk):
    run(
        "ticket",
        "reply",
        desk.number,
        "--as",
        "alice",
        "--body-file",
        "-",
        stdin=io.StringIO("Typed at the terminal."),
    )
    assert "Typed at the terminal." in desk.articles.latest("id").body_text


def test_reply_without_text_or_template_is_a_usage_error(desk):
    error = fails("ticket", "reply", desk.number, "--as", "alice")
    assert error.returncode == 2
    assert "--template" in str(error)
    assert not OutboxMessage.objects.exists()


def test_reply_with_a_template_of_another_queue_is_not_found(desk):
    other = Template.objects.create(name="elsewhere", type="answer", text="x")
    other.queues.add(make_queue("Other"))
    error = fails(
        "ticket", "reply", desk.number, "--as", "alice", "--template", "elsewhere"
    )
    assert error.returncode == 1
    assert "No template 'elsewhere'" in str(error)
    assert desk.articles.count() == 1


def test_reply_with_a_pending_state_is_refused_and_sends_nothing(desk):
    error = fails(
        "ticket",
        "reply",
        desk.number,
        "--as",
        "alice",
        "--body",
        "Later.",
        "--state",
        "pending reminder",
    )
    assert error.returncode == 1
    assert not OutboxMessage.objects.exists()
    assert desk.articles.count() == 1


@pytest.mark.parametrize("rights", [[], [Permission.RO], [Permission.NOTE]])
def test_an_agent_without_rw_cannot_reply(desk, rights):
    bob = make_agent("bob")
    if rights:
        admin.grant(desk.queue.group, rights, agent=bob)
    error = fails("ticket", "reply", desk.number, "--as", "bob", "--body", "Hi")
    assert error.returncode == 1
    assert not OutboxMessage.objects.exists()
    if not rights:  # without any access the ticket does not exist for bob
        assert "not found" in str(error).lower()


# --- outbox -------------------------------------------------------------------------
def test_outbox_list_shows_status_ticket_and_recipients(desk):
    run("ticket", "reply", desk.number, "--as", "alice", "--body", "Hello.")
    out = run("outbox", "list")
    header, line = out.splitlines()
    assert header.split()[:3] == ["ID", "CREATED", "STATUS"]
    assert "queued" in line and desk.number in line and "jane@example.net" in line
    data = json.loads(run("outbox", "list", "--json"))
    assert [(r["ticket"], r["recipients"]) for r in data] == [
        (desk.number, ["jane@example.net"])
    ]
    assert run("outbox", "list", "--status", "failed") == "The outbox is empty.\n"


def test_outbox_send_during_an_outage_keeps_the_mail_for_later(desk, settings):
    settings.HELPLINE_SMTP_URL = f"smtp://127.0.0.1:{free_port()}"  # nobody listens
    run("ticket", "reply", desk.number, "--as", "alice", "--body", "Hello.")
    assert run("outbox", "send") == "0 sent, 1 to retry later, 0 failed.\n"
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.QUEUED and row.attempts == 1
    assert "cannot reach the SMTP server" in row.last_error


def test_outbox_send_reports_a_refused_message_with_status_1(desk, smtp_sink):
    smtp_sink.handler.answers.append("550 5.1.1 no such user")
    run("ticket", "reply", desk.number, "--as", "alice", "--body", "Hello.")
    error = fails("outbox", "send")
    assert error.returncode == 1
    assert "1 message(s) failed" in str(error)
    assert OutboxMessage.objects.get().status == OutboxStatus.FAILED


def test_outbox_retry_queues_failed_mail_again_and_refuses_the_rest(desk, smtp_sink):
    run("ticket", "reply", desk.number, "--as", "alice", "--body", "One.")
    run("ticket", "reply", desk.number, "--as", "alice", "--body", "Two.")
    first, second = OutboxMessage.objects.order_by("id")
    OutboxMessage.objects.filter(pk=first.pk).update(
        status=OutboxStatus.FAILED, last_error="550 refused", attempts=3
    )
    error = fails("outbox", "retry", str(first.pk), str(second.pk))
    assert "is queued; only failed messages" in str(error)
    first.refresh_from_db()
    assert first.status == OutboxStatus.FAILED  # nothing done when one ID is wrong
    assert fails("outbox", "retry", "999999").returncode == 1
    assert fails("outbox", "retry").returncode == 2
    assert run("outbox", "retry", "--all-failed") == f"{first.pk}: queued again\n"
    first.refresh_from_db()
    assert (first.status, first.attempts) == (OutboxStatus.QUEUED, 0)
    assert outbound.send_due() == {"sent": 2, "retry": 0, "failed": 0}
    assert len(smtp_sink.received) == 2
    assert run("outbox", "retry", "--all-failed") == "No failed messages.\n"
