"""No path to a ticket without a grant: every entry point, every kind of outsider.

The rule (docs/permissions.md): reading and writing a ticket need a grant on its queue's
group.  Watching, owning or being responsible give no access of their own, so an agent
who loses its grant loses the ticket, and a merge never hands a ticket to anyone.

Each outsider below may not read the queue Secret (``World.hidden``), but got near its
ticket in one of the ways that leaked before:

- ``never``: never had a grant on Secret (rw on Support only);
- ``revoked``: had rw on Secret, locked (so owned) the ticket, was made responsible and
  watched it; then the grant was revoked;
- ``role_left``: the same through a role, then removed from the role;
- ``merge_watcher``: watched a ticket of a queue it may read, which was then merged
  into the hidden ticket (merge moved watchers along, and watchers could read).

Every entry point is then asked for the hidden ticket: the web interface (every URL,
lists, search), the REST API (list, detail, articles, attachment, history, links,
search, merge into it), the command line (show, list, search), the search backend,
and notifications.  None may answer with the ticket's content or admit it exists.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from helpline.actions import admin, locks, merge, tickets
from helpline.actions.access import may
from helpline.actions.events import Event
from helpline.models import Permission, Ticket, TicketWatcher
from helpline.responses.notify import notify
from helpline.search import search_tickets
from tests.api.conftest import client_for
from tests.cli import fails, run
from tests.search import committed, search_index
from tests.web import build_world, web_settings
from tests.web.test_security import OWN_PAGES, SECRETS, fill, own_patterns

pytestmark = pytest.mark.django_db

OUTSIDERS = ["never", "revoked", "role_left", "merge_watcher"]
# The agent's own lists (helpline.web.views.overviews): where a revoked owner or
# watcher would find the ticket again.
TICKET_LISTS = ["locked", "owned", "responsible", "watched", "reminders", "open", "new"]


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture(autouse=True)
def _index(db):
    yield from search_index()


def _hold(agent, world):
    """The agent locks (so owns) the hidden ticket, is responsible, and watches it."""
    locks.lock_ticket(agent, world.hidden.pk)
    locks.set_responsible(agent, world.hidden.pk, agent)
    tickets.watch_ticket(agent, world.hidden.pk)


def make_outsider(kind: str):
    """A world, and alice as the outsider ``kind`` towards its hidden ticket."""
    with committed():
        world = build_world()
    alice, secret_group = world.alice, world.secret.group
    with committed():
        if kind == "revoked":
            admin.grant(secret_group, [Permission.RW], agent=alice)
            _hold(alice, world)
            admin.revoke(secret_group, [Permission.RW], agent=alice)
        elif kind == "role_left":
            role = admin.create_role("Oversight")
            admin.grant(secret_group, [Permission.RW], role=role)
            admin.add_role_member(role, alice)
            _hold(alice, world)
            admin.remove_role_member(role, alice)
        elif kind == "merge_watcher":
            # eve reads both queues and merges alice's watched ticket into the hidden one
            admin.grant(world.info.group, [Permission.RW], agent=world.eve)
            tickets.watch_ticket(alice, world.ticket.pk)
            merge.merge_tickets(world.eve, world.ticket.pk, world.hidden.pk)
    world.hidden.refresh_from_db()
    # The outsider comes back with a new request: its agent is read afresh (access is
    # cached on the agent object for the length of one request).
    world.alice = type(alice).objects.get(pk=alice.pk)
    return world


@pytest.fixture(params=OUTSIDERS)
def world(request):
    return make_outsider(request.param)


def _no_secret(content: bytes, where: str) -> None:
    for secret in SECRETS:
        assert secret not in content, (where, secret)


# --- what the outsider keeps -------------------------------------------------------
def test_the_outsider_holds_nothing_on_the_hidden_ticket(world):
    hidden = Ticket.objects.get(pk=world.hidden.pk)
    assert not may(world.alice, hidden, Permission.RO)
    assert hidden.owner_id != world.alice.pk or not hidden.locked
    assert hidden.responsible_id != world.alice.pk
    assert not TicketWatcher.objects.filter(ticket=hidden, agent=world.alice).exists()
    assert not Ticket.objects.visible_to(world.alice).filter(pk=hidden.pk).exists()


# --- web ---------------------------------------------------------------------------
def test_no_web_url_shows_the_hidden_ticket(client, world):
    client.force_login(world.alice)
    refused = 0
    for pattern in own_patterns():
        url = fill(pattern, world)
        response = client.get(url, {"q": "Secret"})
        _no_secret(response.content, url)
        if pattern.name not in OWN_PAGES:
            assert response.status_code in (403, 404), (url, response.status_code)
            refused += 1
    assert refused >= 20


def test_the_web_lists_and_search_do_not_list_the_hidden_ticket(client, world):
    client.force_login(world.alice)
    pages = [
        (reverse("dashboard"), ""),
        (reverse("queues"), ""),
        *((reverse("ticket-list", args=[view]), "") for view in TICKET_LISTS),
        *(
            (reverse("search") + "?" + urlencode({"q": q}), q)
            for q in ("matter", world.hidden.number, "whistle@example.org")
        ),
    ]
    for url, asked in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        # The search box shows what was asked; nothing else may name the ticket.
        content = (
            response.content.replace(asked.encode(), b"")
            if asked
            else (response.content)
        )
        _no_secret(content, url)
        assert world.hidden.number.encode() not in content, url
    # The queue itself is as missing as a queue that does not exist.
    assert client.get(reverse("queue", args=[world.secret.pk])).status_code == 404


def test_bulk_actions_leave_the_hidden_ticket_untouched(client, world):
    """Bulk actions select only visible tickets: a hidden id among the selected
    changes nothing of it, whichever action."""
    client.force_login(world.alice)
    before = Ticket.objects.filter(pk=world.hidden.pk).values().get()
    for action, extra in (
        ("lock", {}),
        ("priority", {"priority": "5"}),
        ("close", {"note": "closed"}),
        ("merge", {"target": world.ticket.number}),
    ):
        response = client.post(
            reverse("bulk"),
            {"ids": [world.hidden.pk, world.ticket.pk], "action": action, **extra},
        )
        assert response.status_code in (200, 302, 400), (action, response)
        _no_secret(response.content, f"bulk {action}")
    after = Ticket.objects.filter(pk=world.hidden.pk).values().get()
    assert after == before


# --- API ---------------------------------------------------------------------------
def test_the_api_neither_lists_nor_opens_the_hidden_ticket(world, settings):
    settings.ROOT_URLCONF = "tests.api.urls"
    api = client_for(world.alice)
    number = world.hidden.number
    article = world.hidden.articles.order_by("pk").first()
    attachment = article.attachments.first()
    for path in (
        f"/tickets/{number}",
        f"/tickets/{number}/articles",
        f"/tickets/{number}/articles/{article.pk}",
        f"/tickets/{number}/articles/{article.pk}/attachments/{attachment.pk}",
        f"/tickets/{number}/history",
        f"/tickets/{number}/links",
    ):
        response = api.get(path)
        assert response.status_code == 404, (path, response.content)
        _no_secret(response.content, path)
    for path in ("/tickets?archived=any", "/tickets?q=Secret", f"/tickets?q={number}"):
        response = api.get(path)
        assert response.status_code == 200, (path, response.content)
        assert number not in [t["number"] for t in response.json()["items"]], path
        _no_secret(response.content, path)
    # Nor can it be reached by acting on a ticket the outsider may read.
    response = api.post(f"/tickets/{world.ticket.number}/merge", {"into": number})
    assert response.status_code in (404, 409), response.content
    response = api.post(f"/tickets/{number}/split", {"article_id": article.pk})
    assert response.status_code == 404, response.content
    response = api.post(f"/tickets/{world.ticket.number}/links", {"ticket": number})
    assert response.status_code in (404, 409), response.content
    _no_secret(response.content, "link")


# --- command line -----------------------------------------------------------------
def test_the_command_line_neither_lists_nor_shows_the_hidden_ticket(world):
    number = world.hidden.number
    error = fails("ticket", "show", number, "--as", "alice")
    assert "not found" in str(error)
    listed = json.loads(
        run("ticket", "list", "--as", "alice", "--json", "--limit", "500")
    )
    assert number not in [t["number"] for t in listed]
    found = run("ticket", "search", "Secret", "--as", "alice", "--json")
    assert number not in found
    _no_secret(found.encode(), "cli search")


# --- search backend ------------------------------------------------------------------
def test_the_search_backend_finds_nothing_of_the_hidden_ticket(world):
    for query in ("Secret", "TOP", "whistle@example.org", world.hidden.number):
        assert world.hidden.pk not in search_tickets(world.alice, query).ticket_ids


# --- notifications -----------------------------------------------------------------
@pytest.mark.parametrize(
    "event",
    [Event.FOLLOW_UP, Event.OWNER, Event.RESPONSIBLE, Event.PENDING_REMINDER],
)
def test_no_notification_about_the_hidden_ticket_reaches_the_outsider(world, event):
    hidden = Ticket.objects.select_related("queue", "state").get(pk=world.hidden.pk)
    sent = notify(event, hidden, recipients=[world.alice])
    assert world.alice.email not in sent
    assert world.alice.email not in notify(event, hidden)
