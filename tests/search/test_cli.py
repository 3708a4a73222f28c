"""``helpline ticket search``: the search from the command line, as an agent."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tests.cli import fails, run
from tests.search import committed, reader_of, search_index
from tests.support import make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _index(db):
    yield from search_index()


@pytest.fixture
def desk(db):
    support = make_group("Support")
    info, legal = make_queue("info-en", group=support), make_queue("legal")
    reader_of(support, "alice")
    with committed():
        found = make_ticket(info, title="Photo of a lynx", customer="jane@example.net")
        make_ticket(legal, title="Lynx in court")
    return found


def test_ticket_search_prints_the_visible_matches_as_json(desk):
    data = json.loads(run("ticket", "search", "lynx", "--as", "alice", "--json"))
    assert data["total"] == 1
    assert data["total_capped"] is False
    [row] = data["tickets"]
    assert row["number"] == desk.number
    assert row["title"] == "Photo of a lynx"
    assert row["queue"] == "info-en"
    assert row["customer"] == "jane@example.net"


def test_ticket_search_prints_a_table_for_people(desk):
    out = run("ticket", "search", "lynx queue:info-en", "--as", "alice")
    assert desk.number in out
    assert "1 of 1 shown." in out
    assert run("ticket", "search", "puma", "--as", "alice") == "No tickets found.\n"


def test_ticket_search_reports_bad_syntax_as_an_error(desk):
    error = fails("ticket", "search", '"lynx', "--as", "alice")
    assert error.returncode == 1
    assert "not closed" in str(error)


def test_archived_tickets_need_the_flag(desk):
    from helpline.actions import tickets
    from helpline.actions.admin import get_agent

    alice = get_agent("alice")
    tickets.close_ticket(alice, desk.pk, note="Done.")
    tickets.archive_ticket(alice, desk.pk)
    plain = json.loads(run("ticket", "search", "lynx", "--as", "alice", "--json"))
    assert plain["tickets"] == []
    archived = json.loads(
        run("ticket", "search", "lynx", "--as", "alice", "--json", "--archived")
    )
    assert [r["number"] for r in archived["tickets"]] == [desk.number]


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (("ticket", "search"), "--archived"),
        (("search", "reindex"), "--batch"),
        (("search", "status"), "--json"),
        (("bench", "seed"), "--tickets"),
    ],
)
def test_the_search_commands_explain_themselves(argv, mentions, capsys):
    with pytest.raises(SystemExit) as info:
        call_command(*argv, "--help")
    assert info.value.code == 0
    assert mentions in capsys.readouterr().out
