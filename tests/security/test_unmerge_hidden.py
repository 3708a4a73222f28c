"""Undoing the merge of a ticket merged into one the agent may not read."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from helpline.actions import admin, merge
from helpline.errors import TicketNotFound
from helpline.models import Permission
from tests.support import make_agent
from tests.web import build_world, web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


def test_unmerge_error_names_no_hidden_ticket_id():
    w = build_world()
    carol = make_agent("carol")  # may read both groups
    admin.grant(w.info.group, [Permission.RW], agent=carol)
    admin.grant(w.secret.group, [Permission.RW], agent=carol)
    merge.merge_tickets(carol, w.ticket.pk, w.hidden.pk)
    # the web: the zoom offers "Undo the merge"; the answer names the hidden id
    web = Client()
    web.force_login(w.bob)
    page = web.post(reverse("unmerge", args=[w.ticket.number]), follow=True)
    text = page.content.decode()
    assert f"Ticket {w.hidden.pk} not found" not in text

    # the action: bob may read the merged ticket, not the one it went into
    with pytest.raises(TicketNotFound) as exc:
        merge.unmerge_ticket(w.bob, w.ticket.pk)
    message = exc.value.message
    assert f"Ticket {w.hidden.pk} " not in message
    assert w.hidden.number not in message
    assert "you may not see" in message


def test_the_zoom_offers_no_undo_of_a_merge_into_a_hidden_ticket():
    w = build_world()
    carol = make_agent("carol")
    admin.grant(w.info.group, [Permission.RW], agent=carol)
    admin.grant(w.secret.group, [Permission.RW], agent=carol)
    merge.merge_tickets(carol, w.ticket.pk, w.hidden.pk)
    web = Client()
    web.force_login(w.bob)
    page = web.get(reverse("zoom", args=[w.ticket.number]))
    assert page.status_code == 200
    assert reverse("unmerge", args=[w.ticket.number]).encode() not in page.content
    web.force_login(carol)  # who reads both may undo it
    page = web.get(reverse("zoom", args=[w.ticket.number]))
    assert reverse("unmerge", args=[w.ticket.number]).encode() in page.content
