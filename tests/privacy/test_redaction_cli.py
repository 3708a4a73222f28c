"""``helpline redact``: removes and says what (or as JSON), and refuses rw without
redact, a ticket the agent may not see and a request that names nothing to remove,
with one line and exit status 1."""

from __future__ import annotations

import json

import pytest

from tests.cli import fails, run
from tests.privacy.redaction_scene import (
    TEXT,
    documents_ticket,
    make_lead,
    make_stranger,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org):
    return make_lead(org)


@pytest.fixture
def stranger(db):
    return make_stranger()


@pytest.fixture
def ticket(org):
    return documents_ticket()


def test_the_command_removes_and_says_what(lead, ticket):
    article = ticket.articles.get()
    out = run(
        "redact",
        "--ticket",
        ticket.number,
        "--article",
        str(article.pk),
        "--body",
        "--subject",
        "--reason",
        "sent by mistake",
        "--as",
        "lead",
    )
    assert out == (
        f"Removed from article {article.pk} of ticket {ticket.number}: "
        "body, subject (and the ticket's title).\n"
    )
    out = run(
        "redact",
        *("--ticket", ticket.number, "--article", str(article.pk), "--body"),
        *("--reason", "again", "--as", "lead", "--json"),
    )
    assert json.loads(out)["already_removed"] == ["body"]


def test_the_command_refuses_rw_without_redact_and_hides_other_tickets(
    org, stranger, ticket
):
    article = ticket.articles.get()
    args = ("redact", "--ticket", ticket.number, "--article", str(article.pk))
    error = fails(*args, "--body", "--reason", "x", "--as", org.agent.username)
    assert error.returncode == 1
    assert "'redact' permission" in str(error)
    error = fails(*args, "--body", "--reason", "x", "--as", "stranger")
    assert error.returncode == 1
    assert str(error) == f"Ticket {ticket.number} not found."
    error = fails(*args, "--reason", "nothing", "--as", "stranger")
    assert "Say what to remove" in str(error)
    assert ticket.articles.get().body_text == TEXT
