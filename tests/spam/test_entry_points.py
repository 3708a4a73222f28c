"""The "Spam" and "Not spam" actions from the web (the zoom's buttons, a list's keys, the bulk
screen), the REST API and the command line: the same action, the same checks."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from helpline.actions.api_tokens import create_token
from helpline.models import HistoryEntry, HistoryType, Ticket
from tests.api.conftest import ApiClient
from tests.cli import fails, run
from tests.spam.desk import deliver, make_desk
from tests.spam.spamd import message, words
from tests.support import make_agent
from tests.web import web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db, filter_on):
    return make_desk()


def mailed(subject: str = "Cheap watches") -> Ticket:
    delivered = deliver(message(subject=subject, body=words()))
    return Ticket.objects.get(pk=delivered.ticket_id)


@pytest.fixture
def web(client, desk, settings):
    web_settings(settings)
    client.force_login(desk.agent)
    return client


def test_the_zoom_offers_spam_outside_junk_and_not_spam_inside(web, desk):
    ticket = mailed()
    page = web.get(reverse("zoom", args=[ticket.number])).content.decode()
    assert reverse("spam", args=[ticket.number]) in page
    assert 'data-key="!"' in page
    assert reverse("not-spam", args=[ticket.number]) not in page

    response = web.post(reverse("spam", args=[ticket.number]), follow=True)
    ticket.refresh_from_db()
    assert ticket.queue == desk.junk
    assert "Moved to Junk. The spam filter learned it." in response.content.decode()
    page = web.get(reverse("zoom", args=[ticket.number])).content.decode()
    assert reverse("not-spam", args=[ticket.number]) in page
    assert 'data-key="N"' in page

    web.post(reverse("not-spam", args=[ticket.number]))
    ticket.refresh_from_db()
    assert ticket.queue == desk.info


def test_spam_is_post_only(web):
    ticket = mailed()
    assert web.get(reverse("spam", args=[ticket.number])).status_code == 405
    ticket.refresh_from_db()
    assert ticket.queue.name == "Info"


def test_a_list_s_spam_key_opens_the_bulk_screen_with_spam_chosen(web, desk):
    first, second = mailed(), mailed("Rolex")
    queue_page = web.get(reverse("queue", args=[desk.info.pk])).content.decode()
    assert 'name="action" value="spam" data-key="!"' in queue_page
    screen = web.get(reverse("bulk"), {"ids": [first.pk, second.pk], "action": "spam"})
    assert screen.context["form"].initial["action"] == "spam"

    result = web.post(reverse("bulk"), {"ids": [first.pk, second.pk], "action": "spam"})
    outcomes = result.context["outcomes"]
    assert [o.ok for o in outcomes] == [True, True]
    assert all("The spam filter learned it." in o.message for o in outcomes)
    assert set(
        Ticket.objects.filter(pk__in=[first.pk, second.pk]).values_list(
            "queue__name", flat=True
        )
    ) == {"Junk"}
    web.post(reverse("bulk"), {"ids": [first.pk, second.pk], "action": "not_spam"})
    assert HistoryEntry.objects.filter(type=HistoryType.NOT_SPAM).count() == 2


def test_the_api_marks_spam_and_not_spam(desk, settings):
    settings.ROOT_URLCONF = "tests.api.urls"
    api = ApiClient(create_token(desk.agent, name="tests").secret)
    ticket = mailed()
    response = api.post(f"/tickets/{ticket.number}/spam")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "number": ticket.number,
        "queue": "Junk",
        "moved": True,
        "learned": 1,
        "not_learned": "",
    }
    response = api.post(f"/tickets/{ticket.number}/not-spam")
    assert response.json()["queue"] == "Info"
    # Someone who may not see the ticket: 404, as for a ticket that does not exist.
    stranger = ApiClient(create_token(make_agent("eve"), name="t").secret)
    assert stranger.post(f"/tickets/{ticket.number}/spam").status_code == 404


def test_the_command_line_marks_several_tickets_and_reports_each(desk):
    first, second = mailed(), mailed("Rolex")
    out = run("ticket", "spam", first.number, second.number, "--as", "alice")
    assert out.splitlines() == [
        f"{first.number}: moved to Junk; 1 message(s) learned",
        f"{second.number}: moved to Junk; 1 message(s) learned",
    ]
    rows = json.loads(
        run("ticket", "not-spam", first.number, "--as", "alice", "--json")
    )
    assert rows[0]["queue"] == "Info" and rows[0]["ok"]
    error = fails("ticket", "spam", "999999", second.number, "--as", "alice")
    assert "1 of 2 tickets failed" in str(error)
