"""Merges, splits and links never tell an agent about a ticket it may not see.

The agent ``reader`` may read ticket A (queue Open) but not ticket B (queue Closed).
After a merge (either way), a split (either way), a link, an unlink or an un-merge,
B's number and title appear nowhere the reader looks at A: the web zoom, the API's
ticket, list, history and links, ``helpline ticket show`` (text and JSON) and search.
The agent ``both`` may read both and sees B named in the same places.  Every entry point
asks ``actions.disclosure``; a history page costs the same queries however many of
its entries name other tickets.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpline.actions import admin, merge
from helpline.actions.api_tokens import create_token
from helpline.actions.articles import NewArticle, add_note
from helpline.actions.tickets import do_create_ticket
from helpline.models import Article, ArticleChannel, Permission, SenderType, Ticket
from tests.cli import run
from tests.search import committed, search_index
from tests.support import make_agent, make_group, make_queue
from tests.web import web_settings

pytestmark = pytest.mark.django_db

B_TITLE = "Zebra affair of the minister"


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@dataclass
class Scene:
    lead: Any  # rw on both queues: makes the merges, splits and links
    reader: Any  # ro on Open only
    both: Any  # ro on both
    a: Ticket  # in Open
    b: Ticket  # in Closed


def _ticket(queue: Any, title: str, subject: str) -> Ticket:
    """A ticket whose first article does not repeat its title (after a merge the
    article is the target's content; the title is not)."""
    ticket, _ = do_create_ticket(
        None,
        queue=queue,
        title=title,
        customer_email="customer@example.net",
        article=NewArticle(
            channel=ArticleChannel.EMAIL,
            sender_type=SenderType.CUSTOMER,
            body_text="Hello, a question.",
            subject=subject,
            from_addr="customer@example.net",
            incoming=True,
        ),
    )
    return ticket


@pytest.fixture
def scene() -> Scene:
    open_q = make_queue("Open", group=make_group("Public"))
    closed_q = make_queue("Closed", group=make_group("Confidential"))
    lead, reader, both = make_agent("lead"), make_agent("reader"), make_agent("both")
    for queue in (open_q, closed_q):
        admin.grant(queue.group, [Permission.RW], agent=lead)
        admin.grant(queue.group, [Permission.RO], agent=both)
    admin.grant(open_q.group, [Permission.RO], agent=reader)
    a = _ticket(open_q, "Opening hours", "Opening hours")
    b = _ticket(closed_q, B_TITLE, "A question")
    return Scene(lead, reader, both, a, b)


# --- what happens between A and B: each returns the ticket the reader may read -----
def merge_b_into_a(s: Scene) -> Ticket:
    merge.merge_tickets(s.lead, s.b.pk, s.a.pk)
    return s.a


def merge_a_into_b(s: Scene) -> Ticket:
    merge.merge_tickets(s.lead, s.a.pk, s.b.pk)
    return s.a


def unmerge_a_from_b(s: Scene) -> Ticket:
    merge.merge_tickets(s.lead, s.a.pk, s.b.pk)
    merge.unmerge_ticket(s.lead, s.a.pk)
    return s.a


def split_a_into_b_queue(s: Scene) -> Ticket:
    new = merge.split_article(
        s.lead, s.a.articles.get().pk, queue=s.b.queue, title=B_TITLE
    )
    s.b = new  # the hidden ticket is the new one
    return s.a


def split_b_into_a_queue(s: Scene) -> Ticket:
    return merge.split_article(
        s.lead, s.b.articles.get().pk, queue=s.a.queue, title="Opening hours again"
    )


def link(s: Scene) -> Ticket:
    merge.link_tickets(s.lead, s.a.pk, s.b.pk)
    return s.a


def link_as_parent(s: Scene) -> Ticket:
    merge.link_tickets(s.lead, s.b.pk, s.a.pk, type_="parent_child")
    return s.a


def link_then_unlink(s: Scene) -> Ticket:
    merge.link_tickets(s.lead, s.a.pk, s.b.pk)
    merge.unlink_tickets(s.lead, s.a.pk, s.b.pk)
    return s.a


EVENTS: list[Callable[[Scene], Ticket]] = [
    merge_b_into_a,
    merge_a_into_b,
    unmerge_a_from_b,
    split_a_into_b_queue,
    split_b_into_a_queue,
    link,
    link_as_parent,
    link_then_unlink,
]


# --- what each entry point shows of the readable ticket ----------------------------
def web_zoom(agent: Any, ticket: Ticket) -> str:
    client = Client()
    client.force_login(agent)
    response = client.get(reverse("zoom", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def _api(agent: Any, path: str) -> str:
    token = create_token(agent, name=f"t{path}").secret
    response = Client().get(
        f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.content
    return response.content.decode()


def api_ticket(agent: Any, ticket: Ticket) -> str:
    return _api(agent, f"/tickets/{ticket.number}")


def api_list(agent: Any, ticket: Ticket) -> str:
    listed = _api(agent, "/tickets?limit=100")
    assert ticket.number in listed
    return listed


def api_history(agent: Any, ticket: Ticket) -> str:
    return _api(agent, f"/tickets/{ticket.number}/history?limit=100")


def api_links(agent: Any, ticket: Ticket) -> str:
    return _api(agent, f"/tickets/{ticket.number}/links")


def api_articles(agent: Any, ticket: Ticket) -> str:
    return _api(agent, f"/tickets/{ticket.number}/articles?limit=100")


def cli_show(agent: Any, ticket: Ticket) -> str:
    return run("ticket", "show", ticket.number, "--as", agent.get_username())


def cli_show_json(agent: Any, ticket: Ticket) -> str:
    out = run("ticket", "show", ticket.number, "--as", agent.get_username(), "--json")
    assert "merged_into_id" not in json.loads(out)  # a ticket id is a disclosure too
    return out


ENTRY_POINTS: list[Callable[[Any, Ticket], str]] = [
    web_zoom,
    api_ticket,
    api_list,
    api_history,
    api_links,
    api_articles,
    cli_show,
    cli_show_json,
]


@pytest.mark.parametrize("show", ENTRY_POINTS)
@pytest.mark.parametrize("event", EVENTS)
def test_a_ticket_the_agent_may_not_see_is_never_named(scene, event, show):
    """What the reader sees of A never names B, by number or title."""
    readable = event(scene)
    seen = show(scene.reader, readable)
    assert scene.b.number not in seen
    assert B_TITLE not in seen


# Where B must be named for an agent who may see both (the articles do not name it).
NAMING = {
    merge_b_into_a: [web_zoom, api_history, api_links, cli_show, cli_show_json],
    merge_a_into_b: [
        web_zoom,
        api_ticket,
        api_list,
        api_history,
        api_links,
        cli_show,
        cli_show_json,
    ],
    unmerge_a_from_b: [web_zoom, api_history, cli_show, cli_show_json],
    split_a_into_b_queue: [web_zoom, api_history, api_links, cli_show, cli_show_json],
    split_b_into_a_queue: [web_zoom, api_history, api_links, cli_show, cli_show_json],
    link: [web_zoom, api_history, api_links, cli_show, cli_show_json],
    link_as_parent: [web_zoom, api_history, api_links, cli_show, cli_show_json],
    link_then_unlink: [web_zoom, api_history, cli_show, cli_show_json],
}


@pytest.mark.parametrize(
    ("event", "show"), [(e, s) for e, shows in NAMING.items() for s in shows]
)
def test_an_agent_who_may_see_both_tickets_sees_the_other_named(scene, event, show):
    readable = event(scene)
    assert scene.b.number in show(scene.both, readable)


def test_the_merge_note_names_no_ticket(scene):
    """The note is stored once for every reader of the merged ticket."""
    merge.merge_tickets(scene.lead, scene.a.pk, scene.b.pk)
    note = scene.a.articles.get()
    assert note.body_text == merge.MERGE_NOTE
    assert scene.b.number not in f"{note.subject} {note.body_text}"


@pytest.fixture
def index(db):
    yield from search_index()


def test_searching_for_the_hidden_number_does_not_find_the_merged_ticket(scene, index):
    """A merge note naming B would tie A to B's number in the search index."""
    with committed():
        merge.merge_tickets(scene.lead, scene.a.pk, scene.b.pk)
    found = run("ticket", "search", scene.b.number, "--as", "reader", "--json")
    assert scene.a.number not in found
    assert scene.a.number in run(
        "ticket", "search", "Opening", "--as", "reader", "--json"
    )


def test_a_merge_into_a_hidden_ticket_says_so_without_the_number(scene):
    merge.merge_tickets(scene.lead, scene.a.pk, scene.b.pk)
    ticket = json.loads(api_ticket(scene.reader, scene.a))
    assert (ticket["state_type"], ticket["merged_into"]) == ("merged", None)
    entry = next(
        e
        for e in json.loads(api_history(scene.reader, scene.a))["items"]
        if e["type"] == "merged"
    )
    assert entry["data"]["into"] is None
    assert entry["data"]["articles"] is None
    assert sorted(entry["hidden"]) == ["articles", "into"]
    assert "a ticket you may not see" in web_zoom(scene.reader, scene.a)
    assert "Merged into: (a ticket you may not see)" in cli_show(scene.reader, scene.a)
    seen = json.loads(api_ticket(scene.both, scene.a))
    assert seen["merged_into"] == scene.b.number


def test_a_history_page_costs_the_same_queries_however_many_tickets_it_names(
    scene, django_assert_num_queries
):
    """One visibility query for the page, not one per entry that names a ticket."""
    token = create_token(scene.reader, name="count").secret
    client = Client(headers={"Authorization": f"Bearer {token}"})
    url = f"/api/v1/tickets/{scene.a.number}/history?limit=100"
    merge.link_tickets(scene.lead, scene.a.pk, scene.b.pk)
    assert client.get(url).status_code == 200  # the token's first use is recorded
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(10):
        other = _ticket(scene.a.queue, f"visible {i}", "x")
        hidden = _ticket(scene.b.queue, f"hidden {i}", "x")
        merge.link_tickets(scene.lead, scene.a.pk, other.pk)
        merge.link_tickets(scene.lead, scene.a.pk, hidden.pk)
    with django_assert_num_queries(len(few)):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 23


def test_merge_notes_of_earlier_releases_are_rewritten_without_numbers(scene):
    """The upgrade rewrites stored notes "Merged ticket A to B." (and nothing else)."""
    migration = importlib.import_module(
        "helpline.migrations.0017_merge_notes_name_no_ticket"
    )
    merge.merge_tickets(scene.lead, scene.a.pk, scene.b.pk)
    note = scene.a.articles.get()
    old = f"Merged ticket {scene.a.number} to {scene.b.number}."
    Article.objects.filter(pk=note.pk).update(body_text=old)
    mentions = add_note(scene.lead, scene.b.pk, old, subject="About the merge")
    assert migration.rewrite(Article, "default") == 1
    assert Article.objects.get(pk=note.pk).body_text == merge.MERGE_NOTE
    assert migration.NOTE == merge.MERGE_NOTE
    # An agent's own note that happens to read alike stays (its subject differs).
    assert Article.objects.get(pk=mentions.pk).body_text == old
