"""A legal hold is set and released with a reason by holders of handle_personal_data
who may read the ticket, from the zoom, the API and the command line; every agent
who reads the ticket sees it; nobody else (a superuser included) may set it; and a
held ticket is removed by neither retention nor an erasure."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from helpline.actions import admin, legal_hold, retention
from helpline.actions.tickets import close_ticket
from helpline.errors import Conflict, InvalidInput, PermissionDenied, TicketNotFound
from helpline.models import HistoryEntry, HistoryType, Permission, Ticket
from tests.api.conftest import client_for
from tests.privacy.removing import holder, keep_for, later, superuser
from tests.support import make_agent, make_group, make_queue, make_ticket
from tests.web import web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def case(db):
    group = make_group("Legal")
    queue = make_queue("Contracts", group=group)
    return group, queue, make_ticket(queue, title="Supplier dispute")


def test_set_and_release_with_reasons_in_history(case):
    group, _, ticket = case
    dpo = holder(reads=group)
    version = ticket.version
    held = legal_hold.set_legal_hold(dpo, ticket.pk, reason="  Court case\n4 O 17/25 ")
    assert held.legal_hold and held.version == version + 1
    assert Ticket.objects.get(pk=ticket.pk).changed == ticket.changed
    with pytest.raises(Conflict):
        legal_hold.set_legal_hold(dpo, ticket.pk, reason="again")
    legal_hold.release_legal_hold(dpo, ticket.pk, reason="Case closed")
    entries = list(
        HistoryEntry.objects.filter(
            ticket=ticket,
            type__in=[HistoryType.LEGAL_HOLD, HistoryType.LEGAL_HOLD_RELEASED],
        )
        .order_by("id")
        .values_list("type", "actor__username", "data")
    )
    assert entries == [
        ("legal_hold", "dpo", {"reason": "Court case 4 O 17/25"}),
        ("legal_hold_released", "dpo", {"reason": "Case closed"}),
    ]
    with pytest.raises(InvalidInput):
        legal_hold.set_legal_hold(dpo, ticket.pk, reason="   ")


def test_only_holders_who_read_the_ticket_may(case):
    group, _, ticket = case
    root = superuser()
    with pytest.raises(PermissionDenied):
        legal_hold.set_legal_hold(root, ticket.pk, reason="I am root")
    with pytest.raises(TicketNotFound):  # holds the right, may not read the queue
        legal_hold.set_legal_hold(holder("blind"), ticket.pk, reason="Why not")
    assert not Ticket.objects.get(pk=ticket.pk).legal_hold


def test_retention_passes_a_held_ticket_by(case):
    group, queue, ticket = case
    keep_for(queue, 30)
    worker = make_agent("worker")
    admin.grant(group, [Permission.RW], agent=worker)
    close_ticket(worker, ticket.pk, note="Done.")
    legal_hold.set_legal_hold(holder(reads=group), ticket.pk, reason="Audit 2026")
    assert [r.count for r in retention.retention_preview(now=later(31))] == [0]
    run = retention.run_retention(now=later(31))
    assert run.report["totals"]["deleted"] == 0
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_the_api_sets_and_releases_it(case):
    group, _, ticket = case
    dpo = holder(reads=group)
    api = client_for(dpo)
    path = f"/tickets/{ticket.number}/legal-hold"
    response = api.post(path, {"reason": "Tax audit"})
    assert response.status_code == 200, response.content
    assert response.json()["legal_hold"] is True
    assert response["ETag"]
    assert api.post(path, {"reason": "Tax audit"}).status_code == 409
    assert api.delete(path).status_code == 422  # the reason is required
    response = api.delete(path + "?reason=Audit%20done")
    assert response.status_code == 200 and response.json()["legal_hold"] is False
    assert api.post(path, {"reason": ""}).status_code == 422


def test_the_api_refuses_others(case):
    group, _, ticket = case
    path = f"/tickets/{ticket.number}/legal-hold"
    root = superuser()
    admin.grant(group, [Permission.RW], agent=root)
    response = client_for(root).post(path, {"reason": "Because"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client_for(holder("blind")).post(path, {"reason": "x"}).status_code == 404
    assert not Ticket.objects.get(pk=ticket.pk).legal_hold


def test_the_zoom_shows_the_hold_and_offers_it_to_holders(client, case):
    group, _, ticket = case
    dpo = holder(reads=group)
    client.force_login(dpo)
    zoom = reverse("zoom", args=[ticket.number])
    form_url = reverse("legal-hold", args=[ticket.number])
    page = client.get(zoom).content.decode()
    assert form_url in page and "legal hold</span>" not in page
    response = client.post(form_url, {"reason": "Regulator's request"})
    assert response.status_code == 302
    page = client.get(zoom).content.decode()
    assert 'class="tag hold"' in page and "Release the legal hold" in page
    # Someone who reads the ticket without the right sees the hold, not the action.
    reader = superuser("reader")
    admin.grant(group, [Permission.RW], agent=reader)
    client.force_login(reader)
    page = client.get(zoom).content.decode()
    assert 'class="tag hold"' in page and form_url not in page
    assert client.post(form_url, {"reason": "Nope"}).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).legal_hold


def test_the_command_line_sets_and_releases_it(case):
    group, _, ticket = case
    holder("dpo", reads=group)
    out = StringIO()
    call_command(
        "privacy",
        "hold",
        ticket.number,
        "--reason",
        "Litigation",
        "--as",
        "dpo",
        stdout=out,
    )
    assert Ticket.objects.get(pk=ticket.pk).legal_hold
    call_command(
        "privacy",
        "hold",
        ticket.number,
        "--release",
        "--reason",
        "Settled",
        "--as",
        "dpo",
        stdout=out,
    )
    assert out.getvalue().splitlines() == [
        f"Ticket {ticket.number} put under legal hold.",
        f"Ticket {ticket.number} released from legal hold.",
    ]
    superuser("root")
    with pytest.raises(CommandError, match="handle_personal_data"):
        call_command("privacy", "hold", ticket.number, "--reason", "x", "--as", "root")
