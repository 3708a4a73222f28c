"""Dashboard, queue view and personal overviews: content, order, paging, query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpline.actions import admin, locks, tickets
from helpline.actions.access import forget_permissions
from helpline.models import AgentProfile, Permission, Priority
from helpline.web import listing
from tests.support import make_agent
from tests.web import build_world, email_ticket, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def numbers(response):
    return [t.number for t in response.context["rows"]]


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_dashboard_counts_what_the_agent_may_see(alice_client, world):
    email_ticket(world.info, title="Second")
    email_ticket(world.secret, title="Not for alice")
    locks.lock_ticket(world.alice, world.ticket.pk)
    response = alice_client.get(reverse("dashboard"))
    counts = response.context["counts"]
    assert counts["open"] == 2
    assert counts["new"] == 2
    assert counts["locked"] == 1
    assert counts["owned"] == 1
    assert counts["responsible"] == 0
    assert counts["reminders"] == 0
    assert b"Not for alice" not in response.content
    assert b"Secret" not in response.content


def test_dashboard_counts_reminders_that_are_due(alice_client, world):
    past = timezone.now() - timedelta(hours=1)
    tickets.set_state(
        world.alice, world.ticket.pk, "pending reminder", pending_until=past
    )
    response = alice_client.get(reverse("dashboard"))
    assert response.context["counts"]["reminders"] == 1
    listed = alice_client.get(reverse("ticket-list", args=["reminders"]))
    assert numbers(listed) == [world.ticket.number]


DASHBOARD_VIEWS = ("new", "open", "locked", "owned", "responsible", "reminders")


def test_each_dashboard_count_is_the_total_of_its_list(alice_client, world):
    """The cards link to the lists: a card never promises what its list lacks."""
    past = timezone.now() - timedelta(hours=1)
    future = timezone.now() + timedelta(days=1)
    bob = world.bob
    owned = email_ticket(world.info, title="Owned, unlocked")
    locks.set_owner(bob, owned.pk, world.alice)
    responsible = email_ticket(world.sub, title="Alice responsible")
    locks.set_responsible(bob, responsible.pk, world.alice)
    due = email_ticket(world.info, title="Reminder due")
    tickets.set_state(world.alice, due.pk, "pending reminder", pending_until=past)
    later = email_ticket(world.info, title="Reminder later")
    tickets.set_state(world.alice, later.pk, "pending reminder", pending_until=future)
    others = email_ticket(world.info, title="Bob's reminder")
    tickets.set_state(bob, others.pk, "pending reminder", pending_until=past)
    closed = email_ticket(world.info, title="Closed, owned")
    locks.lock_ticket(world.alice, closed.pk)
    tickets.close_ticket(world.alice, closed.pk, note="done")
    locks.lock_ticket(world.alice, world.ticket.pk)
    # A Secret ticket alice was responsible for until she lost the queue: neither
    # visible nor hers any more (only a grant opens a ticket).
    admin.grant(world.secret.group, [Permission.RO], agent=world.alice)
    forget_permissions(world.alice)
    kept = email_ticket(world.secret, title="Still responsible")
    locks.set_responsible(world.eve, kept.pk, world.alice)
    admin.revoke(world.secret.group, [Permission.RO], agent=world.alice)
    email_ticket(world.secret, title="Not for alice")

    counts = alice_client.get(reverse("dashboard")).context["counts"]
    assert counts == {
        "new": 3,
        "open": 6,
        "locked": 3,
        "owned": 4,
        "responsible": 1,
        "reminders": 1,
    }
    for view in DASHBOARD_VIEWS:
        listed = alice_client.get(reverse("ticket-list", args=[view]))
        assert listed.context["total"] == counts[view], view


def test_an_agent_without_any_queue_counts_nothing_not_even_what_was_theirs(world):
    """No readable queue at all (an empty IN list): the ticket the agent was
    responsible for is neither counted nor listed (nor theirs any more)."""
    kept = email_ticket(world.secret, title="Responsible without the queue")
    loner = make_agent("loner")
    admin.grant(world.secret.group, [Permission.RO], agent=loner)
    locks.set_responsible(world.eve, kept.pk, loner)
    admin.revoke(world.secret.group, [Permission.RO], agent=loner)
    forget_permissions(loner)
    counts = listing.dashboard_counts(loner)
    assert counts == {
        "new": 0,
        "open": 0,
        "locked": 0,
        "owned": 0,
        "responsible": 0,
        "reminders": 0,
    }
    assert listing.ticket_list(loner, "open").count() == 0
    assert listing.ticket_list(loner, "responsible").count() == 0


def test_the_dashboard_shows_every_count_linked_to_its_list(alice_client, world):
    locks.lock_ticket(world.alice, world.ticket.pk)
    html = alice_client.get(reverse("dashboard")).content.decode()
    cards = dict(
        re.findall(
            r'<a class="card[^"]*" href="([^"]+)"><span class="n">(\d+)</span>', html
        )
    )
    assert cards == {
        reverse("ticket-list", args=["new"]): "1",
        reverse("ticket-list", args=["open"]): "1",
        reverse("ticket-list", args=["locked"]): "1",
        reverse("ticket-list", args=["owned"]): "1",
        reverse("ticket-list", args=["responsible"]): "0",
        reverse("ticket-list", args=["reminders"]): "0",
    }


def test_the_dashboard_counts_are_three_queries_however_many_tickets(
    world, django_assert_num_queries
):
    _more_tickets(world, 5)
    # The readable queues; their open tickets by queue id; the agent's own tickets
    # among them.
    with django_assert_num_queries(3):
        counts = listing.dashboard_counts(world.alice)
    assert counts["open"] == 6
    _more_tickets(world, 20)
    with django_assert_num_queries(3):
        assert listing.dashboard_counts(world.alice)["open"] == 26


def test_queue_tree_shows_readable_queues_with_counts(alice_client, world):
    email_ticket(world.sub, title="In the sub-queue")
    response = alice_client.get(reverse("queues"))
    tree = {node.name: node for node in response.context["tree"]}
    assert set(tree) == {"Info", "Info::Sub"}
    assert (tree["Info"].open, tree["Info"].new) == (1, 1)
    assert tree["Info::Sub"].depth == 1
    assert tree["Info::Sub"].label == "Sub"


def test_queue_view_lists_unlocked_tickets_first_then_by_priority(alice_client, world):
    low = email_ticket(world.info, title="Low")
    tickets.set_priority(world.bob, low.pk, Priority.VERY_LOW)
    locks.unlock_ticket(world.bob, low.pk)
    urgent = email_ticket(world.info, title="Urgent")
    tickets.set_priority(world.bob, urgent.pk, Priority.VERY_HIGH)
    locks.unlock_ticket(world.bob, urgent.pk)
    locked = email_ticket(world.info, title="Locked, very high")
    tickets.set_priority(world.bob, locked.pk, Priority.VERY_HIGH)
    response = alice_client.get(reverse("queue", args=[world.info.pk]))
    assert numbers(response) == [
        urgent.number,
        world.ticket.number,
        low.number,
        locked.number,
    ]


def test_queue_view_sorts_by_title_both_ways(alice_client, world):
    email_ticket(world.info, title="Zebra")
    email_ticket(world.info, title="Aardvark")
    url = reverse("queue", args=[world.info.pk])
    titles = [t.title for t in alice_client.get(url + "?sort=title").context["rows"]]
    assert titles == sorted(titles)
    titles = [t.title for t in alice_client.get(url + "?sort=-title").context["rows"]]
    assert titles == sorted(titles, reverse=True)


def test_queue_view_pages_on_the_server(alice_client, world):
    for i in range(30):
        email_ticket(world.info, title=f"Ticket {i:02}")
    url = reverse("queue", args=[world.info.pk])
    first = alice_client.get(url)
    assert len(first.context["rows"]) == 25
    assert first.context["total"] == 31
    second = alice_client.get(url + "?page=2")
    assert len(second.context["rows"]) == 6
    assert not set(numbers(first)) & set(numbers(second))
    assert len(alice_client.get(url + "?size=50").context["rows"]) == 31
    # An unknown size falls back to the default.
    assert len(alice_client.get(url + "?size=7").context["rows"]) == 25


def test_a_queue_the_agent_may_not_read_is_not_found(alice_client, world):
    response = alice_client.get(reverse("queue", args=[world.secret.pk]))
    assert response.status_code == 404
    assert b"Secret matter" not in response.content


def test_my_queues_are_the_followed_ones(alice_client, world):
    email_ticket(world.sub, title="Sub ticket")
    profile = AgentProfile.objects.get(user=world.alice)
    profile.followed_queues.set([world.sub])
    response = alice_client.get(reverse("queues"))
    assert [t.title for t in response.context["rows"]] == ["Sub ticket"]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("locked", {"mine"}),
        ("owned", {"mine", "owned unlocked"}),
        ("responsible", {"responsible"}),
        ("watched", {"watched"}),
        # Locking does not change the state: locked tickets are still new.
        (
            "new",
            {
                "mine",
                "owned unlocked",
                "responsible",
                "watched",
                "Question about an article",
            },
        ),
        (
            "open",
            {
                "mine",
                "owned unlocked",
                "responsible",
                "watched",
                "Question about an article",
            },
        ),
        ("closed", {"closed"}),
    ],
)
def test_personal_overviews(alice_client, world, view, expected):
    alice, bob = world.alice, world.bob
    mine = email_ticket(world.info, title="mine")
    locks.lock_ticket(alice, mine.pk)
    owned = email_ticket(world.info, title="owned unlocked")
    locks.lock_ticket(alice, owned.pk)
    locks.unlock_ticket(alice, owned.pk)
    responsible = email_ticket(world.info, title="responsible")
    locks.set_responsible(bob, responsible.pk, alice)
    watched = email_ticket(world.info, title="watched")
    tickets.watch_ticket(alice, watched.pk)
    closed = email_ticket(world.info, title="closed")
    tickets.close_ticket(bob, closed.pk, note="done")
    email_ticket(world.secret, title="hidden")
    response = alice_client.get(reverse("ticket-list", args=[view]))
    assert {t.title for t in response.context["rows"]} == expected


def test_an_unknown_overview_is_not_found(alice_client):
    assert alice_client.get(reverse("ticket-list", args=["nope"])).status_code == 404


def _more_tickets(world, n):
    for i in range(n):
        ticket = email_ticket(
            world.info, title=f"More {i}", customer=f"c{i}@example.net"
        )
        if i % 3 == 0:
            locks.lock_ticket(world.bob, ticket.pk)


@pytest.mark.parametrize(
    "url_name",
    ["dashboard", "queues", "queue", "ticket-list"],
)
def test_overviews_cost_the_same_queries_for_2_and_30_tickets(
    alice_client, world, url_name, django_assert_num_queries, settings
):
    settings.HELPLINE_NAV_COUNTS_SECONDS = 0  # the queue counts counted each time
    args = {"queue": [world.info.pk], "ticket-list": ["open"]}.get(url_name, [])
    url = reverse(url_name, args=args)
    _more_tickets(world, 1)
    few = queries_for(alice_client, url)
    _more_tickets(world, 28)
    with django_assert_num_queries(few):
        assert alice_client.get(url).status_code == 200


def test_the_queue_counts_are_cached_for_a_few_seconds_per_set_of_queues(
    client, world, settings
):
    settings.HELPLINE_NAV_COUNTS_SECONDS = 60
    client.force_login(world.alice)
    url = reverse("queues")
    first = queries_for(client, url)
    email_ticket(world.info, title="Counted later")
    response = client.get(url)
    tree = {node.name: node for node in response.context["tree"]}
    assert tree["Info"].open == 1  # counted a moment ago: not counted again
    assert queries_for(client, url) == first - 1
    # Another set of queues (eve's) is counted for itself, never from alice's entry.
    client.force_login(world.eve)
    tree = {node.name: node for node in client.get(url).context["tree"]}
    assert set(tree) == {"Secret"}
    assert tree["Secret"].open == 1
    # Access granted since: a new set of queues, counted at once.
    admin.grant(world.info.group, ["ro"], agent=world.eve)
    tree = {node.name: node for node in client.get(url).context["tree"]}
    assert tree["Info"].open == 2
    # Without caching, every page counts.
    settings.HELPLINE_NAV_COUNTS_SECONDS = 0
    client.force_login(world.alice)
    tree = {node.name: node for node in client.get(url).context["tree"]}
    assert tree["Info"].open == 2
