"""Old agent links of the replaced system (``legacy-link``): ``index.pl`` with
``Action=AgentTicketZoom`` and ``TicketID`` or ``TicketNumber`` leads to the imported
ticket after the usual access check; whatever the reason a ticket cannot be shown,
the answer is the same "not found"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from helpline.models import ImportedObject
from tests.web import build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    world = build_world()
    # As the importer records them: Znuny ticket 41 became world.ticket, 42 the
    # hidden one, article 900 the ticket's first article.
    for kind, source_id, target in (
        ("ticket", "41", world.ticket.pk),
        ("ticket", "42", world.hidden.pk),
        ("article", "900", world.ticket.articles.first().pk),
        ("article", "901", world.hidden.articles.first().pk),
    ):
        ImportedObject.objects.create(
            source="znuny", kind=kind, source_id=source_id, target_id=target
        )
    return world


@pytest.fixture
def alice(client, world):
    client.force_login(world.alice)
    return client


def _zoom(ticket) -> str:
    return reverse("zoom", args=[ticket.number])


@pytest.mark.parametrize(
    "url",
    [
        "/otrs/index.pl?Action=AgentTicketZoom;TicketID=41",
        "/otrs/index.pl?Action=AgentTicketZoom&TicketID=41",
        "/znuny/index.pl?Action=AgentTicketZoom;TicketID=41",
        "/index.pl?Action=AgentTicketZoom;TicketID=41",
        "/otrs/index.pl?TicketID=41;Action=AgentTicketZoom",
    ],
)
def test_an_old_zoom_link_by_ticket_id_redirects_to_the_imported_ticket(
    alice, world, url
):
    response = alice.get(url)
    assert response.status_code == 302
    assert response["Location"] == _zoom(world.ticket)


def test_an_old_zoom_link_by_ticket_number_redirects_to_the_ticket(alice, world):
    number = world.ticket.number
    for sep in (";", "&"):
        response = alice.get(
            f"/otrs/index.pl?Action=AgentTicketZoom{sep}TicketNumber={number}"
        )
        assert response.status_code == 302
        assert response["Location"] == _zoom(world.ticket)


def test_an_article_link_lands_on_that_article(alice, world):
    article = world.ticket.articles.first()
    response = alice.get(
        "/otrs/index.pl?Action=AgentTicketZoom;TicketID=41;ArticleID=900"
    )
    assert response["Location"] == f"{_zoom(world.ticket)}?all=1#article-{article.pk}"


def test_an_article_of_another_ticket_is_ignored(alice, world):
    response = alice.get(
        "/otrs/index.pl?Action=AgentTicketZoom;TicketID=41;ArticleID=901"
    )
    assert response["Location"] == _zoom(world.ticket)


def _not_found_page(response) -> bytes:
    assert response.status_code == 404
    # The (masked) CSRF token differs per response; nothing else may.
    return re.sub(rb"[A-Za-z0-9]{64}", b"TOKEN", response.content)


def test_no_access_and_no_such_ticket_give_the_same_404(alice, world):
    """Alice may not see ticket 42 (in Secret): the page is the one for a ticket
    that was never imported, so nobody learns which old ids exist."""
    hidden = alice.get("/otrs/index.pl?Action=AgentTicketZoom;TicketID=42")
    missing = alice.get("/otrs/index.pl?Action=AgentTicketZoom;TicketID=43")
    assert _not_found_page(hidden) == _not_found_page(missing)
    assert world.hidden.number.encode() not in hidden.content


def test_no_access_by_number_is_the_same_404_as_an_unknown_number(alice, world):
    hidden = alice.get(
        f"/otrs/index.pl?Action=AgentTicketZoom;TicketNumber={world.hidden.number}"
    )
    missing = alice.get(
        f"/otrs/index.pl?Action=AgentTicketZoom;TicketNumber={world.hidden.number}".replace(
            world.hidden.number, "1" + world.hidden.number[1:]
        )
    )
    assert hidden.status_code == missing.status_code == 404
    text = _not_found_page(hidden).replace(world.hidden.number.encode(), b"N")
    other = _not_found_page(missing).replace(
        ("1" + world.hidden.number[1:]).encode(), b"N"
    )
    assert text == other


def test_an_agent_with_access_follows_the_same_link(client, world):
    client.force_login(world.eve)  # eve reads Secret
    response = client.get("/otrs/index.pl?Action=AgentTicketZoom;TicketID=42")
    assert response["Location"] == _zoom(world.hidden)


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(client, world):
    url = "/otrs/index.pl?Action=AgentTicketZoom;TicketID=41"
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "index.pl" in response["Location"]


@pytest.mark.parametrize(
    "url",
    [
        "/elsewhere/index.pl?Action=AgentTicketZoom;TicketID=41",  # not a prefix
        "/otrs/index.pl?Action=AdminUser;TicketID=41",  # not a ticket screen
        "/otrs/index.pl?Action=AgentTicketZoom",  # no ticket
        "/otrs/index.pl?Action=AgentTicketZoom;TicketID=4x1",
    ],
)
def test_other_links_are_not_found(alice, world, url):
    assert alice.get(url).status_code == 404


def test_the_prefixes_come_from_the_settings(alice, world, settings):
    settings.HELPLINE_LEGACY_URL_PREFIXES = ["/helpdesk/otrs/"]
    ok = alice.get("/helpdesk/otrs/index.pl?Action=AgentTicketZoom;TicketID=41")
    assert ok.status_code == 302
    assert (
        alice.get("/otrs/index.pl?Action=AgentTicketZoom;TicketID=41").status_code
        == 404
    )


def test_an_id_two_sources_map_differently_is_not_guessed(alice, world):
    ImportedObject.objects.create(
        source="other", kind="ticket", source_id="41", target_id=world.hidden.pk
    )
    assert (
        alice.get("/otrs/index.pl?Action=AgentTicketZoom;TicketID=41").status_code
        == 404
    )


def test_the_route_has_a_name(world):
    assert reverse("legacy-link", kwargs={"prefix": "otrs/"}) == "/otrs/index.pl"
