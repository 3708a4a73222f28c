"""Merging never extends anyone's access (issue 13, point 2).

A merge moves the source's watchers to the target.  Watching gives no access of its
own, so a watcher of the source who may not read the target's queue must not end up
reading the target: not in a list, the zoom, a search, an attachment or the API.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from helpline.actions import admin, tickets
from helpline.actions.merge import merge_tickets
from helpline.models import Attachment, Permission, TicketWatcher
from tests.api.conftest import client_for
from tests.search import committed, numbers
from tests.support import make_agent
from tests.web import build_world, web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def merged():
    """carol reads Support only and watches a ticket of Info; bob, who reads both
    Support and Secret, merges it into the Secret ticket."""
    world = build_world()
    carol = make_agent("carol")
    admin.grant(world.info.group, [Permission.RO], agent=carol)
    admin.grant(world.secret.group, [Permission.RW], agent=world.bob)
    tickets.watch_ticket(carol, world.ticket.pk)
    bob = type(world.bob).objects.get(pk=world.bob.pk)
    with committed():
        merge_tickets(bob, world.ticket.pk, world.hidden.pk)
    carol = type(carol).objects.get(pk=carol.pk)
    return world, carol


def test_a_watcher_of_the_source_who_cannot_read_the_target_does_not_watch_it(merged):
    world, carol = merged
    assert not TicketWatcher.objects.filter(agent=carol).exists()


def test_the_merge_target_stays_unreadable_on_the_web(merged):
    world, carol = merged
    web = Client()
    web.force_login(carol)
    target = world.hidden
    for view in ("watched", "open", "new"):
        page = web.get(reverse("ticket-list", args=[view]))
        assert page.status_code == 200
        assert target.number not in page.content.decode(), view
    assert web.get(reverse("zoom", args=[target.number])).status_code == 404
    found = web.get(reverse("search"), {"q": "SECRET"})
    assert target.number not in found.content.decode()
    secret_file = Attachment.objects.get(filename="secret.txt")
    url = reverse("attachment", args=[target.number, secret_file.pk])
    response = web.get(url)
    assert response.status_code == 404
    assert b"TOP SECRET FILE" not in response.content


def test_the_merge_target_stays_unreadable_through_search_and_the_api(merged):
    world, carol = merged
    target = world.hidden
    assert numbers(carol, "secret") == []
    api = client_for(carol)
    listed = api.get("/tickets?limit=100")
    assert listed.status_code == 200
    # (The merged source, which carol may read, names its target: point 2 of the
    # issue is about reading the target, the merge note is another point's.)
    assert target.number not in [t["number"] for t in listed.json()["items"]]
    assert api.get(f"/tickets/{target.number}").status_code == 404
    assert api.get(f"/tickets/{target.number}/articles").status_code == 404
    secret_file = Attachment.objects.select_related("article").get(
        filename="secret.txt"
    )
    response = api.get(
        f"/tickets/{target.number}/articles/{secret_file.article_id}"
        f"/attachments/{secret_file.pk}"
    )
    assert response.status_code == 404
    assert b"TOP SECRET FILE" not in response.content


def test_a_watcher_who_may_read_the_target_keeps_watching_it(merged):
    """Only those who could read the target anyway watch it after the merge."""
    world, _ = merged
    dora = make_agent("dora")
    admin.grant(world.info.group, [Permission.RO], agent=dora)
    admin.grant(world.secret.group, [Permission.RO], agent=dora)
    source = world.hidden  # the target of the first merge, now merged further
    tickets.watch_ticket(dora, source.pk)
    other = build_other_target(world)
    merge_tickets(world.eve, source.pk, other.pk)
    assert TicketWatcher.objects.filter(agent=dora, ticket=other).exists()


def build_other_target(world):
    from tests.web import email_ticket

    return email_ticket(world.secret, title="Another secret")
