"""The web side: a note's mentions, the Mentions list and count, out of office, saved
searches from the search page."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from helpline.actions import out_of_office, saved_searches
from helpline.actions.articles import add_note
from helpline.models import Mention, OutOfOffice, SavedSearch
from tests.web import build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


def _mention_count(html: str) -> str | None:
    found = re.search(
        r'class="nav-mentions">[^<]*(?:<span class="count"[^>]*>(\d+))?', html
    )
    assert found, "the Mentions link is in the navigation"
    return found.group(1)


def test_a_note_from_the_web_mentions_and_hints_neutrally(client, world):
    client.force_login(world.alice)
    url = reverse("note", args=[world.ticket.number])
    response = client.post(
        url,
        {"subject": "", "text": "@bob please check; @eve too; @ghost"},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    # eve may not read Info, ghost does not exist: the same neutral words for both.
    assert "Not notified: @eve, @ghost." in page
    assert "Only agents who may read this ticket are notified" in page
    assert list(Mention.objects.values_list("agent__username", flat=True)) == ["bob"]


def test_the_mentions_list_and_count_until_opened(client, world):
    add_note(world.alice, world.ticket.pk, "@bob look at this")
    client.force_login(world.bob)
    page = client.get(reverse("dashboard")).content.decode()
    assert _mention_count(page) == "1"
    listing = client.get(reverse("mentions")).content.decode()
    assert world.ticket.number in listing
    assert "alice" in listing  # by whom
    client.get(reverse("zoom", args=[world.ticket.number]))
    page = client.get(reverse("mentions")).content.decode()
    assert world.ticket.number not in page
    assert _mention_count(page) is None


def test_a_mention_can_be_dismissed_without_opening(client, world):
    add_note(world.alice, world.ticket.pk, "@bob look at this")
    client.force_login(world.bob)
    response = client.post(
        reverse("mention-dismiss", args=[world.ticket.number]), follow=True
    )
    assert response.status_code == 200
    assert Mention.objects.count() == 0


def test_all_mentions_can_be_marked_as_done_at_once(client, world):
    from tests.support import make_ticket

    add_note(world.alice, world.ticket.pk, "@bob look at this")
    add_note(world.alice, make_ticket(world.info).pk, "@bob and this")
    add_note(world.bob, world.ticket.pk, "@alice yours")
    client.force_login(world.bob)
    listing = client.get(reverse("mentions")).content.decode()
    assert reverse("mentions-dismiss-all") in listing
    assert client.get(reverse("mentions-dismiss-all")).status_code == 405
    response = client.post(reverse("mentions-dismiss-all"), follow=True)
    page = response.content.decode()
    assert "2 mentions were marked as done." in page
    assert _mention_count(page) is None
    # alice's own mention is hers: untouched.
    assert list(Mention.objects.values_list("agent__username", flat=True)) == ["alice"]


def test_a_deactivated_agent_keeps_no_mention_in_list_or_count(world):
    from helpline.web import nav_counts

    add_note(world.alice, world.ticket.pk, "@bob look at this")
    assert nav_counts.mention_count(world.bob) == 1
    bob = type(world.bob).objects.get(pk=world.bob.pk)
    bob.is_active = False
    assert nav_counts.mention_count(bob) == 0


def test_other_agents_see_nothing_of_a_mention(client, world):
    add_note(world.alice, world.ticket.pk, "@bob look at this")
    client.force_login(world.eve)
    page = client.get(reverse("mentions")).content.decode()
    assert world.ticket.number not in page
    assert _mention_count(page) is None
    response = client.post(reverse("mention-dismiss", args=[world.ticket.number]))
    assert response.status_code == 404
    assert Mention.objects.count() == 1


def test_the_mentions_list_costs_the_same_for_few_and_many(
    client, world, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.support import make_ticket

    add_note(world.alice, world.ticket.pk, "@bob one")
    client.force_login(world.bob)
    url = reverse("mentions")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(15):
        add_note(world.alice, make_ticket(world.info).pk, "@bob more")
    with django_assert_num_queries(len(few)):
        page = client.get(url).content.decode()
    assert _mention_count(page) == "16"


def test_out_of_office_from_the_preferences(client, world):
    client.force_login(world.bob)
    url = reverse("out-of-office")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "start": "2026-12-24T09:00",
            "end": "2026-12-28T18:00",
            "time_zone": "Europe/Berlin",
            "substitute": "alice",
        },
    )
    assert response.status_code == 302
    row = OutOfOffice.objects.get(agent=world.bob)
    assert row.substitute == world.alice
    assert row.start.astimezone(UTC).hour == 8  # 09:00 in Berlin
    bad = client.post(
        url,
        {
            "start": "2026-12-24T09:00",
            "end": "2026-12-28T18:00",
            "time_zone": "Europe/Berlin",
            "substitute": "bob",
        },
    )
    assert bad.status_code == 400
    assert "own substitute" in bad.content.decode()
    client.post(url, {"clear": "1"})
    assert not OutOfOffice.objects.filter(agent=world.bob).exists()


def test_the_owner_picker_shows_the_absence(client, world):
    now = timezone.now()
    out_of_office.set_out_of_office(
        world.bob,
        start=now - timedelta(hours=1),
        end=now + timedelta(days=2),
        substitute=None,
    )
    client.force_login(world.alice)
    page = client.get(reverse("owner", args=[world.ticket.number])).content.decode()
    (bob,) = [line for line in page.splitlines() if "bob" in line and "<option" in line]
    assert "out of office until" in bob


def test_saving_a_search_from_the_search_page(client, world):
    client.force_login(world.alice)
    search = client.get(reverse("search"), {"q": "state:open"}).content.decode()
    assert 'action="/searches/new/"' in search
    response = client.post(
        reverse("saved-search-new"),
        {"q": "state:open", "name": "Open ones", "group": ""},
    )
    row = SavedSearch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("saved-search-run", args=[row.pk])
    run = client.get(response["Location"])
    assert run.status_code == 302 and "q=state%3Aopen" in run["Location"]
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "Open ones" in dashboard
    client.post(
        reverse("saved-search-edit", args=[row.pk]),
        {"name": "Still open", "q": "state:open", "group": ""},
    )
    assert SavedSearch.objects.get().name == "Still open"
    client.post(reverse("saved-search-delete", args=[row.pk]))
    assert not SavedSearch.objects.exists()


def test_a_bad_saved_search_is_refused_with_the_query_kept(client, world):
    client.force_login(world.alice)
    response = client.post(
        reverse("saved-search-new"), {"q": "state:open", "name": ""}, follow=True
    )
    page = response.content.decode()
    assert "needs a name" in page
    assert 'value="state:open"' in page
    assert not SavedSearch.objects.exists()


def test_another_agents_saved_search_is_not_found(client, world):
    row = saved_searches.create_saved_search(world.alice, name="Mine", query="x")
    client.force_login(world.bob)
    assert client.get(reverse("saved-search-run", args=[row.pk])).status_code == 404
    assert client.post(reverse("saved-search-delete", args=[row.pk])).status_code == 404
    assert SavedSearch.objects.exists()
