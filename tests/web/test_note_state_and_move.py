"""Two small things from the agent's day: a note that also sets the state, and moving
a ticket without becoming its owner (unless the agent chooses to) at every entry
point: the action, the move screen, bulk, the API and the command line."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.actions import admin, locks, tickets
from helpline.errors import InvalidInput, TicketLocked
from helpline.models import ArticleChannel, HistoryType, Permission, Ticket
from tests.support import make_agent, make_group, make_queue
from tests.web import build_world, email_ticket, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    world = build_world()
    # Triage: tickets arrive in Raw; alice sorts them into Info.
    world.raw = make_queue("Raw", group=world.info.group)
    return world


def in_raw(world, **kw):
    return email_ticket(world.raw, **kw)


def fresh(ticket):
    return Ticket.objects.select_related("owner").get(pk=ticket.pk)


# --- the action: every entry point goes through it -------------------------------


def test_moving_does_not_make_the_mover_the_owner(world):
    ticket = in_raw(world)
    assert ticket.owner_id is None
    tickets.move_ticket(world.alice, ticket.pk, world.info)
    moved = fresh(ticket)
    assert moved.queue == world.info
    assert moved.owner_id is None
    assert not moved.locked
    assert not moved.history.filter(type=HistoryType.OWNER).exists()


def test_moving_keeps_the_owner_someone_else_had(world):
    ticket = in_raw(world)
    locks.set_owner(world.alice, ticket.pk, world.bob)
    tickets.move_ticket(world.alice, ticket.pk, world.info)
    assert fresh(ticket).owner == world.bob


def test_moving_and_taking_makes_the_mover_owner_with_the_lock(world):
    ticket = in_raw(world)
    tickets.move_ticket(world.alice, ticket.pk, world.info, take=True)
    moved = fresh(ticket)
    assert (moved.queue, moved.owner, moved.locked) == (world.info, world.alice, True)


def test_taking_needs_rw_in_the_new_queue_and_then_nothing_moves(world):
    sorter = make_agent("sorter")
    admin.grant(world.info.group, [Permission.RW], agent=sorter)
    elsewhere = make_queue("Elsewhere", group=make_group("Elsewhere"))
    admin.grant(elsewhere.group, [Permission.MOVE_INTO], agent=sorter)
    ticket = in_raw(world)
    with pytest.raises(InvalidInput, match="rw"):
        tickets.move_ticket(sorter, ticket.pk, elsewhere, take=True)
    assert fresh(ticket).queue == world.raw
    tickets.move_ticket(sorter, ticket.pk, elsewhere)
    assert fresh(ticket).queue == elsewhere


def test_a_ticket_locked_by_another_agent_still_cannot_be_moved(world):
    ticket = in_raw(world)
    locks.lock_ticket(world.bob, ticket.pk)
    with pytest.raises(TicketLocked):
        tickets.move_ticket(world.alice, ticket.pk, world.info)


# --- the move screen, bulk and the API ----------------------------------------------


def test_the_move_screen_leaves_the_owner_unless_take_is_ticked(client, world):
    client.force_login(world.alice)
    first, second = in_raw(world, title="one"), in_raw(world, title="two")
    url = lambda t: reverse("move", args=[t.number])  # noqa: E731
    page = client.get(url(first))
    assert b'name="take"' in page.content
    client.post(url(first), {"queue": world.info.pk, "note": "sorted"})
    client.post(url(second), {"queue": world.info.pk, "take": "on"})
    assert fresh(first).owner_id is None
    assert fresh(first).articles.filter(channel=ArticleChannel.INTERNAL).exists()
    assert fresh(second).owner == world.alice


def test_bulk_move_leaves_owners_unless_take_is_ticked(client, world):
    client.force_login(world.alice)
    a, b, c = (in_raw(world, title=t) for t in ("a", "b", "c"))
    ids = {"ids": [a.pk, b.pk], "action": "move", "queue": world.info.pk}
    client.post(reverse("bulk"), ids)
    assert [fresh(t).owner_id for t in (a, b)] == [None, None]
    assert fresh(a).queue == world.info
    client.post(reverse("bulk"), {**ids, "ids": [c.pk], "take": "on"})
    assert fresh(c).owner == world.alice


def test_the_api_moves_without_taking_and_takes_with_lock(settings, world):
    from tests.api.conftest import client_for

    settings.ROOT_URLCONF = "tests.api.urls"
    api = client_for(world.alice)
    first, second = in_raw(world, title="one"), in_raw(world, title="two")
    response = api.patch(f"/tickets/{first.number}", {"queue": "Info"})
    assert response.status_code == 200, response.content
    assert response.json()["owner"] is None
    response = api.patch(f"/tickets/{second.number}", {"queue": "Info", "lock": True})
    assert response.status_code == 200, response.content
    assert fresh(second).owner == world.alice


def test_the_command_line_moves_without_taking_and_takes_on_request(world):
    import json

    from tests.cli import fails, run

    first, second = in_raw(world, title="one"), in_raw(world, title="two")
    out = run("ticket", "move", first.number, "--as", "alice", "--queue", "Info")
    assert out.strip() == f"Ticket {first.number} moved to Info; owner: nobody."
    assert fresh(first).owner_id is None
    out = run(
        "ticket",
        "move",
        second.number,
        "--as",
        "alice",
        "--queue",
        "Info",
        "--take",
        "--json",
    )
    assert json.loads(out) == {
        "ticket": second.number,
        "queue": "Info",
        "owner": "alice",
        "locked": True,
    }
    # Another agent's ticket is "not found", as everywhere on the command line.
    error = fails(
        "ticket", "move", world.hidden.number, "--as", "alice", "--queue", "Info"
    )
    assert "not found" in str(error).lower()
    assert fresh(world.hidden).queue == world.secret


# --- a note and the state in one step -----------------------------------------------


def test_a_note_can_set_the_state_in_the_same_step(client, world):
    client.force_login(world.alice)
    response = client.post(
        reverse("note", args=[world.ticket.number]),
        {"text": "Checked the licence.", "next_state": "closed successful"},
    )
    assert response.status_code == 302
    ticket = fresh(world.ticket)
    assert ticket.state.name == "closed successful"
    note = ticket.articles.get(channel=ArticleChannel.INTERNAL)
    assert note.body_text == "Checked the licence."


def test_a_note_without_a_state_leaves_the_state(client, world):
    client.force_login(world.alice)
    before = world.ticket.state.name
    client.post(reverse("note", args=[world.ticket.number]), {"text": "Only a note."})
    assert fresh(world.ticket).state.name == before


def test_a_pending_state_without_a_time_adds_no_note_and_keeps_the_text(client, world):
    client.force_login(world.alice)
    response = client.post(
        reverse("note", args=[world.ticket.number]),
        {"text": "Waiting for them.", "next_state": "pending reminder"},
    )
    assert response.status_code == 200
    assert "pending_until" in response.context["form"].errors
    assert b"Waiting for them." in response.content
    assert (
        not fresh(world.ticket)
        .articles.filter(channel=ArticleChannel.INTERNAL)
        .exists()
    )


def test_an_agent_who_may_only_note_gets_no_state_choice(client, world):
    reviewer = make_agent("reviewer")
    admin.grant(world.info.group, ["ro", "note"], agent=reviewer)
    client.force_login(reviewer)
    url = reverse("note", args=[world.ticket.number])
    assert b'name="next_state"' not in client.get(url).content
    before = world.ticket.state.name
    response = client.post(url, {"text": "A note", "next_state": "closed successful"})
    assert response.status_code == 302
    assert fresh(world.ticket).state.name == before
