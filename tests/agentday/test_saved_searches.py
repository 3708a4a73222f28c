"""Saved searches: personal and shared, counted as the viewer, never leaking."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.actions import admin, saved_searches
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import Permission
from helpline.search import indexer
from helpline.web import nav_counts
from tests.support import make_agent, make_ticket


@pytest.fixture
def shared(team):
    """alice shares "licence" with group info; bob reads info, not oversight."""
    row = saved_searches.create_saved_search(
        team.alice, name="Licence questions", query="licence", group="info"
    )
    return row


@pytest.mark.django_db
def test_a_shared_search_never_shows_a_ticket_the_viewer_may_not_read(team, shared):
    from helpline.search import search_tickets

    tickets = [
        make_ticket(team.queue, title="licence of a photo"),
        make_ticket(team.secret, title="licence secret matter"),
    ]
    indexer.reindex_tickets([t.pk for t in tickets])
    alice_total, _ = saved_searches.count_matches(team.alice, shared)
    bob_total, _ = saved_searches.count_matches(team.bob, shared)
    assert (alice_total, bob_total) == (2, 1)
    assert search_tickets(team.bob, shared.query).total == 1
    # carol reads nothing: she does not even see the shared search.
    assert list(saved_searches.visible_saved_searches(team.carol)) == []
    assert [s.name for s in nav_counts.search_counts(team.bob)] == ["Licence questions"]
    assert nav_counts.search_counts(team.bob)[0].count == 1


@pytest.mark.django_db
def test_sharing_needs_rw_on_the_group(team):
    reader = make_agent("reader")
    admin.grant(team.queue.group, [Permission.RO], agent=reader)
    with pytest.raises(PermissionDenied, match="'rw'"):
        saved_searches.create_saved_search(reader, name="mine", query="x", group="info")
    # A group one holds nothing on is "unknown", like a missing one.
    with pytest.raises(InvalidInput, match="No group"):
        saved_searches.create_saved_search(
            team.bob, name="mine", query="x", group="oversight"
        )
    # Personal searches need nothing.
    assert saved_searches.create_saved_search(reader, name="mine", query="x").pk


@pytest.mark.django_db
def test_personal_searches_are_the_owners_only(team):
    row = saved_searches.create_saved_search(team.bob, name="Mine", query="state:open")
    assert list(saved_searches.visible_saved_searches(team.alice)) == []
    with pytest.raises(NotFound):
        saved_searches.get_saved_search(team.alice, row.pk)
    with pytest.raises(NotFound):
        saved_searches.delete_saved_search(team.alice, row.pk)


@pytest.mark.django_db
def test_only_the_owner_edits_or_deletes_a_shared_search(team, shared):
    with pytest.raises(PermissionDenied):
        saved_searches.update_saved_search(team.bob, shared.pk, name="mine now")
    with pytest.raises(PermissionDenied):
        saved_searches.delete_saved_search(team.bob, shared.pk)
    changed = saved_searches.update_saved_search(
        team.alice, shared.pk, name="Licences", query="licence state:open", group=None
    )
    assert (changed.name, changed.query, changed.group) == (
        "Licences",
        "licence state:open",
        None,
    )
    assert list(saved_searches.visible_saved_searches(team.bob)) == []
    saved_searches.delete_saved_search(team.alice, shared.pk)
    assert list(saved_searches.visible_saved_searches(team.alice)) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "query", "message"),
    [
        ("", "x", "needs a name"),
        ("n", "   ", "needs a query"),
        ("n", '"unclosed', ""),
        ("x" * 101, "x", "at most 100"),
    ],
)
def test_bad_input_is_refused_clearly(team, name, query, message):
    try:
        saved_searches.create_saved_search(team.bob, name=name, query=query)
    except InvalidInput as exc:
        assert message in exc.message
    else:
        # An unclosed quote may be read leniently by the parser: then it is valid.
        assert query == '"unclosed'


@pytest.mark.django_db
def test_names_are_unique_per_owner(team):
    saved_searches.create_saved_search(team.bob, name="Mine", query="a")
    with pytest.raises(InvalidInput, match="already"):
        saved_searches.create_saved_search(team.bob, name="Mine", query="b")
    assert saved_searches.create_saved_search(team.alice, name="Mine", query="b").pk


@pytest.mark.django_db
def test_nav_counts_are_cached_for_a_few_seconds_and_forgotten_on_a_change(
    team, settings
):
    settings.HELPLINE_NAV_COUNTS_SECONDS = 60
    saved_searches.create_saved_search(team.bob, name="Open", query="state:open")
    make_ticket(team.queue)
    assert nav_counts.search_counts(team.bob)[0].count == 1
    make_ticket(team.queue)
    with CaptureQueriesContext(connection) as cached:
        assert nav_counts.search_counts(team.bob)[0].count == 1  # counted a moment ago
    # Only which searches bob may see now (his permissions are cached on him).
    assert len(cached) == 1
    saved_searches.create_saved_search(team.bob, name="Other", query="state:new")
    assert nav_counts.search_counts(team.bob)[0].count == 2


@pytest.mark.django_db
def test_nav_counts_cost_the_same_for_few_and_many_tickets(team, settings):
    settings.HELPLINE_NAV_COUNTS_SECONDS = 0
    saved_searches.create_saved_search(team.bob, name="Open", query="state:open")
    saved_searches.create_saved_search(team.bob, name="Prio", query="priority:>=3")
    make_ticket(team.queue)
    nav_counts.search_counts(team.bob)
    with CaptureQueriesContext(connection) as few:
        nav_counts.search_counts(team.bob)
    for _ in range(25):
        make_ticket(team.queue)
    with CaptureQueriesContext(connection) as many:
        counted = nav_counts.search_counts(team.bob)
    assert [s.count for s in counted] == [26, 26]
    assert len(many) == len(few)


@pytest.mark.django_db
def test_the_nav_shows_at_most_a_few_searches(team, settings):
    settings.HELPLINE_NAV_COUNTS_SECONDS = 0
    for i in range(nav_counts.NAV_SEARCHES + 3):
        saved_searches.create_saved_search(team.bob, name=f"s{i:02}", query="x")
    # The rest are on the saved searches page.
    assert len(nav_counts.search_counts(team.bob)) == nav_counts.NAV_SEARCHES


def _fresh(agent):
    """The agent as the next request loads it (no permissions cached on it)."""
    return type(agent).objects.get(pk=agent.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["grant", "role", "deactivated"])
def test_leaving_the_group_takes_its_shared_searches_away_at_once(
    team, settings, client, how
):
    """Withdrawn from the group (its own grant, or the role that gave it) or
    deactivated: the group's shared search leaves bob's navigation and list even
    while the counts are cached, and running it is refused."""
    from django.urls import reverse

    from tests.web import web_settings

    web_settings(settings)
    settings.HELPLINE_NAV_COUNTS_SECONDS = 60
    group = team.queue.group
    if how == "role":
        admin.revoke(group, [Permission.RW], agent=team.bob)
        role = admin.create_role("info-team")
        admin.grant(group, [Permission.RO], role=role)
        admin.add_role_member(role, team.bob)
    shared = saved_searches.create_saved_search(
        team.alice, name="Licence questions", query="licence", group="info"
    )
    mine = saved_searches.create_saved_search(team.bob, name="Mine", query="x")
    bob = _fresh(team.bob)
    assert [s.name for s in nav_counts.search_counts(bob)] == [
        "Licence questions",
        "Mine",
    ]
    if how == "grant":
        admin.revoke(group, [Permission.RW], agent=team.bob)
    elif how == "role":
        admin.remove_role_member(role, team.bob)
    bob = _fresh(team.bob)
    if how == "deactivated":
        bob.is_active = False
        assert nav_counts.search_counts(bob) == []
        assert list(saved_searches.visible_saved_searches(bob)) == []
        return
    assert [s.name for s in nav_counts.search_counts(bob)] == ["Mine"]
    assert list(saved_searches.visible_saved_searches(bob)) == [mine]
    with pytest.raises(NotFound):
        saved_searches.get_saved_search(bob, shared.pk)
    client.force_login(bob)
    assert client.get(reverse("saved-search-run", args=[shared.pk])).status_code == (
        404
    )
    page = client.get(reverse("saved-searches")).content.decode()
    assert "Licence questions" not in page
    assert client.get(reverse("saved-search-run", args=[mine.pk])).status_code == 302


@pytest.mark.django_db
def test_a_shared_search_counts_in_the_nav_only_what_the_viewer_may_read(
    team, settings, client
):
    """alice reads two groups, bob one: the same shared search counts 2 for her
    and 1 for him on the page, and when bob's reading widens his count follows at
    once, the cache notwithstanding."""
    from django.urls import reverse

    from tests.web import web_settings

    web_settings(settings)
    settings.HELPLINE_NAV_COUNTS_SECONDS = 60
    shared = saved_searches.create_saved_search(
        team.alice, name="Everything", query="licence", group="info"
    )
    tickets = [
        make_ticket(team.queue, title="licence of a photo"),
        make_ticket(team.secret, title="licence secret matter"),
    ]
    indexer.reindex_tickets([t.pk for t in tickets])
    assert [s.count for s in nav_counts.search_counts(_fresh(team.alice))] == [2]
    assert [s.count for s in nav_counts.search_counts(_fresh(team.bob))] == [1]
    client.force_login(team.bob)
    page = client.get(reverse("dashboard")).content.decode()
    run = reverse("saved-search-run", args=[shared.pk])
    assert run in page
    results = client.get(run, follow=True).content.decode()
    assert tickets[0].number in results
    assert tickets[1].number not in results
    admin.grant(team.secret.group, [Permission.RO], agent=team.bob)
    assert [s.count for s in nav_counts.search_counts(_fresh(team.bob))] == [2]


@pytest.mark.django_db
def test_the_nav_query_count_is_bounded_whatever_the_number_of_searches(team, settings):
    settings.HELPLINE_NAV_COUNTS_SECONDS = 0
    for i in range(nav_counts.NAV_SEARCHES):
        saved_searches.create_saved_search(team.bob, name=f"s{i:02}", query="x")
    bob = _fresh(team.bob)
    nav_counts.search_counts(bob)
    with CaptureQueriesContext(connection) as at_the_cap:
        nav_counts.search_counts(bob)
    for i in range(40):
        saved_searches.create_saved_search(
            team.alice, name=f"shared{i:02}", query="y", group="info"
        )
        saved_searches.create_saved_search(team.bob, name=f"t{i:02}", query="z")
    with CaptureQueriesContext(connection) as many:
        assert len(nav_counts.search_counts(bob)) == nav_counts.NAV_SEARCHES
    # One for the list and a capped search per counted search: two statements, or
    # four for words on PostgreSQL (its common words and the reading access too).
    bound = 1 + 4 * nav_counts.NAV_SEARCHES
    assert len(many) == len(at_the_cap) <= bound
