"""The commands: a note with mentions, mentions, out-of-office, saved searches."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from helpline.models import Mention, OutOfOffice, SavedSearch
from tests.cli import fails, run
from tests.support import make_ticket

pytestmark = pytest.mark.django_db


def test_a_note_from_the_cli_mentions_like_the_web(team):
    ticket = make_ticket(team.queue)
    err = io.StringIO()
    out = io.StringIO()
    call_command(
        "ticket",
        "note",
        ticket.number,
        "--as",
        "alice",
        "--body",
        "@bob see this; @carol too",
        "--json",
        stdout=out,
        stderr=err,
    )
    data = json.loads(out.getvalue())
    assert data["mentioned"] == ["bob"]
    assert data["not_notified"] == ["carol"]
    assert "Not notified: @carol." in err.getvalue()
    assert Mention.objects.get().agent == team.bob
    listed = json.loads(run("mentions", "list", "--as", "bob", "--json"))
    assert [m["number"] for m in listed] == [ticket.number]
    assert "dismissed" in run("mentions", "dismiss", ticket.number, "--as", "bob")
    assert run("mentions", "list", "--as", "bob").strip() == "No mentions."


def test_showing_the_ticket_on_the_cli_marks_the_mention_seen(team):
    ticket = make_ticket(team.queue)
    run("ticket", "note", ticket.number, "--as", "alice", "--body", "@bob see")
    assert Mention.objects.filter(agent=team.bob).count() == 1
    run("ticket", "show", ticket.number, "--as", "alice")  # not alice's mention
    assert Mention.objects.filter(agent=team.bob).count() == 1
    run("ticket", "show", ticket.number, "--as", "bob")
    assert Mention.objects.filter(agent=team.bob).count() == 0


def test_all_mentions_are_marked_done_from_the_cli(team):
    for title in ("one", "two"):
        ticket = make_ticket(team.queue, title=title)
        run("ticket", "note", ticket.number, "--as", "alice", "--body", "@bob see")
    assert "2 mention(s) marked as done." in run(
        "mentions", "dismiss", "--all", "--as", "bob"
    )
    assert run("mentions", "list", "--as", "bob").strip() == "No mentions."
    assert "NUMBER or --all" in str(fails("mentions", "dismiss", "--as", "bob"))


def test_a_note_on_a_hidden_ticket_is_not_found(team):
    ticket = make_ticket(team.secret)
    error = fails("ticket", "note", ticket.number, "--as", "bob", "--body", "@alice")
    assert "not found" in str(error)
    assert not Mention.objects.exists()


def test_out_of_office_from_the_cli(team):
    out = run(
        "out_of_office",
        "set",
        "--as",
        "bob",
        "--start",
        "2026-12-24T09:00",
        "--end",
        "2026-12-28T18:00",
        "--time-zone",
        "Europe/Berlin",
        "--substitute",
        "alice",
    )
    assert "substitute: alice" in out
    assert OutOfOffice.objects.get().substitute == team.alice
    shown = json.loads(run("out_of_office", "show", "--as", "bob", "--json"))
    assert shown["time_zone"] == "Europe/Berlin"
    error = fails(
        "out_of_office",
        "set",
        "--as",
        "bob",
        "--start",
        "2026-12-24T09:00",
        "--end",
        "2026-12-28T18:00",
        "--substitute",
        "ghost",
    )
    assert "No active agent" in str(error)
    assert "removed" in run("out_of_office", "clear", "--as", "bob")
    assert not OutOfOffice.objects.exists()


def test_saved_searches_from_the_cli(team):
    make_ticket(team.queue)
    make_ticket(team.secret)
    run(
        "saved_search",
        "create",
        "--as",
        "alice",
        "--name",
        "Open",
        "--query",
        "state:new",
        "--group",
        "info",
    )
    row = SavedSearch.objects.get()
    alice = json.loads(run("saved_search", "list", "--as", "alice", "--json"))
    bob = json.loads(run("saved_search", "list", "--as", "bob", "--json"))
    assert (alice[0]["count"], bob[0]["count"]) == (2, 1)
    error = fails("saved_search", "delete", str(row.pk), "--as", "bob")
    assert "Only its owner" in str(error)
    run("saved_search", "update", str(row.pk), "--as", "alice", "--personal")
    assert json.loads(run("saved_search", "list", "--as", "bob", "--json")) == []
    run("saved_search", "delete", str(row.pk), "--as", "alice")
    assert not SavedSearch.objects.exists()
