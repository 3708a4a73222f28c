"""ticket create, list and show: acting as an agent, seeing only what the agent may see."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from helpline.actions import admin
from helpline.actions.articles import NewArticle, NewAttachment, add_article
from helpline.actions.locks import lock_ticket
from helpline.actions.tickets import close_ticket
from helpline.models import Permission, Ticket
from tests.cli import fails, run
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(queue):
    agent = make_agent("alice")
    admin.grant(queue.group, [Permission.RW], agent=agent)
    return agent


@pytest.fixture
def outsider(db):
    """An agent with rw elsewhere, but no permission on the Support group."""
    agent = make_agent("olga")
    admin.grant(make_group("Elsewhere"), [Permission.RW], agent=agent)
    return agent


# --- create --------------------------------------------------------------------------
def test_create_prints_the_number_of_a_phone_ticket_from_the_customer(alice):
    out = run(
        "ticket",
        "create",
        "--as",
        "alice",
        "--queue",
        "Info",
        "--title",
        "Caller asks about opening hours",
        "--customer",
        "Caller@Example.net",
        "--priority",
        "4",
        "--body",
        "She wants to know when we open.",
    )
    ticket = Ticket.objects.get()
    assert out == f"{ticket.number}\n"
    assert ticket.priority == 4
    assert ticket.customer.email == "caller@example.net"
    article = ticket.articles.get()
    assert (article.channel, article.sender_type) == ("phone", "customer")
    assert article.body_text == "She wants to know when we open."
    assert article.created_by == alice


def test_create_reads_the_body_from_a_file_and_answers_in_json(alice, tmp_path):
    body = tmp_path / "note.txt"
    body.write_text("Grüße aus Köln: intern notiert.\n", encoding="utf-8")
    out = run(
        "ticket",
        "create",
        "--as",
        "alice",
        "--queue",
        "Info",
        "--title",
        "Internal reminder",
        "--channel",
        "internal",
        "--body-file",
        str(body),
        "--json",
    )
    ticket = Ticket.objects.get()
    assert json.loads(out) == {
        "id": ticket.pk,
        "number": ticket.number,
        "title": "Internal reminder",
        "queue": "Info",
    }
    article = ticket.articles.get()
    assert article.body_text == "Grüße aus Köln: intern notiert.\n"
    assert (article.sender_type, article.visible_to_customer) == ("agent", False)


def test_create_reads_the_body_from_stdin_with_a_dash(alice):
    run(
        "ticket",
        *("create", "--as", "alice", "--queue", "Info", "--title", "T"),
        *("--body-file", "-"),
        stdin=io.StringIO("from a pipe"),
    )
    assert Ticket.objects.get().articles.get().body_text == "from a pipe"


def test_a_missing_body_file_is_a_clear_error(alice, tmp_path):
    error = fails(
        "ticket",
        *("create", "--as", "alice", "--queue", "Info", "--title", "T"),
        *("--body-file", str(tmp_path / "missing.txt")),
    )
    assert (
        str(error)
        == f"Cannot read {tmp_path / 'missing.txt'}: No such file or directory."
    )
    assert not Ticket.objects.exists()


def test_create_in_an_unknown_queue_is_an_error(alice):
    error = fails(
        "ticket",
        "create",
        "--as",
        "alice",
        "--queue",
        "Nope",
        "--title",
        "T",
        "--body",
        "x",
    )
    assert str(error) == "No queue named 'Nope'."
    assert error.returncode == 1


def test_create_without_the_create_permission_is_refused(queue, outsider):
    error = fails(
        "ticket",
        "create",
        "--as",
        "olga",
        "--queue",
        "Info",
        "--title",
        "T",
        "--body",
        "x",
    )
    assert str(error) == "You need the 'create' permission on queue Info."
    assert not Ticket.objects.exists()


def test_a_customer_that_is_not_an_email_address_is_a_usage_error(alice):
    error = fails(
        "ticket",
        *("create", "--as", "alice", "--queue", "Info", "--title", "T"),
        *("--customer", "not an address", "--body", "x"),
    )
    assert "'not an address' is not an email address" in str(error)
    assert not Ticket.objects.exists()


def test_an_unknown_acting_agent_is_an_error(queue):
    error = fails("ticket", "list", "--as", "ghost")
    assert str(error) == "No agent with login 'ghost'."


# --- list ----------------------------------------------------------------------------
def test_list_shows_only_the_tickets_the_agent_may_see(alice, outsider, queue):
    mine = make_ticket(queue, title="In Support")
    make_ticket(make_queue("Hidden", group=make_group("Secret")), title="Hidden one")
    rows = json.loads(run("ticket", "list", "--as", "alice", "--json"))
    assert [r["number"] for r in rows] == [mine.number]
    assert rows[0]["queue"] == "Info"
    assert rows[0]["customer"] == "customer@example.net"
    assert json.loads(run("ticket", "list", "--as", "olga", "--json")) == []
    assert run("ticket", "list", "--as", "olga") == "No tickets.\n"


def test_list_filters_by_queue_state_type_and_limit(alice, queue):
    other = make_queue("Other", group=queue.group)
    first = make_ticket(queue, title="first")
    closed = make_ticket(queue, title="closed")
    close_ticket(alice, closed.pk, note="done")
    elsewhere = make_ticket(other, title="elsewhere")

    def numbers(*extra: str) -> list[str]:
        out = run("ticket", "list", "--as", "alice", "--json", *extra)
        return [r["number"] for r in json.loads(out)]

    assert numbers("--queue", "Other") == [elsewhere.number]
    assert numbers("--state-type", "closed") == [closed.number]
    assert numbers("--open") == [elsewhere.number, first.number]
    assert numbers("--state-type", "new", "--state-type", "closed") == [
        elsewhere.number,
        closed.number,
        first.number,
    ]
    assert numbers("--limit", "1") == [elsewhere.number]
    assert fails("ticket", "list", "--as", "alice", "--queue", "Nope").returncode == 1


def test_list_takes_the_same_queries_for_2_and_20_tickets(
    alice, queue, django_assert_num_queries, django_assert_max_num_queries
):
    """Queue, state, owner and customer come with the tickets, not one query each."""
    other = make_queue("Other", group=queue.group)

    def add(n: int) -> None:
        for i in range(n):
            ticket = make_ticket(
                queue if i % 2 else other, customer=f"c{Ticket.objects.count()}@x.org"
            )
            lock_ticket(alice, ticket.pk)  # gives the ticket an owner to show

    add(2)
    with django_assert_max_num_queries(3) as few:
        assert len(json.loads(run("ticket", "list", "--as", "alice", "--json"))) == 2
    add(18)
    with django_assert_num_queries(len(few.captured_queries)):
        rows = json.loads(run("ticket", "list", "--as", "alice", "--json"))
    assert len(rows) == 20
    assert {r["owner"] for r in rows} == {"alice"}
    with django_assert_num_queries(len(few.captured_queries)):
        run("ticket", "list", "--as", "alice")


# --- show ----------------------------------------------------------------------------
def _attach(agent, ticket, content: bytes) -> None:
    add_article(
        agent,
        ticket.pk,
        NewArticle(
            channel="phone",
            body_text="Scan attached.",
            subject="Scan",
            attachments=[NewAttachment("scan.pdf", "application/pdf", content)],
        ),
    )


def test_show_prints_fields_articles_attachments_and_history(alice, queue):
    ticket = make_ticket(queue, title="Broken link", body="The link is dead.")
    _attach(alice, ticket, b"%PDF-1.4 fake")
    lock_ticket(alice, ticket.pk)
    data = json.loads(run("ticket", "show", ticket.number, "--as", "alice", "--json"))
    assert data["number"] == ticket.number
    assert (data["title"], data["queue"], data["state"]) == (
        "Broken link",
        "Info",
        "new",
    )
    assert (data["owner"], data["locked"]) == ("alice", True)
    first, second = data["articles"]
    assert first["headers"]["from"] == "customer@example.net"
    assert first["headers"]["subject"] == "Broken link"
    assert first["body_text"] == "The link is dead."
    assert (first["sender_type"], first["created_by"]) == ("customer", None)
    assert second["created_by"] == "alice"
    assert second["attachments"] == [
        {
            "filename": "scan.pdf",
            "content_type": "application/pdf",
            "size": 13,
            "sha256": hashlib.sha256(b"%PDF-1.4 fake").hexdigest(),
            "inline": False,
            "content_id": "",
        }
    ]
    history = [(h["type"], h["actor"]) for h in data["history"]]
    assert history[:2] == [("created", None), ("article", None)]
    assert ("locked", "alice") in history
    locked = next(h for h in data["history"] if h["type"] == "locked")
    assert locked["data"] == {"owner": "alice"}

    text = run("ticket", "show", ticket.number, "--as", "alice")
    assert f"Ticket {ticket.number}" in text
    assert "The link is dead." in text
    assert "[attachment] scan.pdf (application/pdf, 13 bytes" in text
    assert "locked" in text


def test_a_ticket_without_access_is_not_found_like_a_missing_one(
    alice, outsider, queue
):
    ticket = make_ticket(queue)
    hidden = fails("ticket", "show", ticket.number, "--as", "olga")
    missing = fails("ticket", "show", "1999", "--as", "alice")
    assert str(hidden) == f"Ticket {ticket.number} not found."
    assert str(missing) == "Ticket 1999 not found."
    assert hidden.returncode == missing.returncode == 1
    assert "not found" not in run("ticket", "show", ticket.number, "--as", "alice")


def test_show_takes_the_same_queries_however_many_articles(
    alice, queue, django_assert_num_queries
):
    short = make_ticket(queue, title="short")
    long = make_ticket(queue, title="long")
    for i in range(9):
        _attach(alice, long, f"scan {i}".encode())

    def show(ticket: Ticket) -> dict:
        return json.loads(
            run("ticket", "show", ticket.number, "--as", "alice", "--json")
        )

    # History, merges and links included: a fixed number, however long the ticket
    # (the read audit's INSERT, and the DELETE of a mention of alice: seen).
    with django_assert_num_queries(10) as baseline:
        assert len(show(short)["articles"]) == 1
    with django_assert_num_queries(len(baseline.captured_queries)):
        data = show(long)
    assert len(data["articles"]) == 10
    assert sum(len(a["attachments"]) for a in data["articles"]) == 9
