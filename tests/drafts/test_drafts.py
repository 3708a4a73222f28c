"""Drafts: saved as the agent types, restored on any device after any login, gone
with the sent reply, kept for their agent alone after access is withdrawn, removed
with the ticket and after HELPLINE_DRAFT_DAYS."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpline.actions import admin, drafts, removal
from helpline.models import Article, ComposeDraft, Permission
from tests.web import PASSWORD, build_world, email_ticket, web_settings

MINE = "My own careful answer, half written."


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


def save(client, ticket, kind="reply", **fields):
    return client.post(
        reverse("draft", args=[ticket.number]),
        json.dumps({"kind": kind, "fields": fields}),
        content_type="application/json",
    )


def reply_fields(world, body=MINE):
    return {
        "to": "customer@example.net",
        "cc": "boss@example.net",
        "subject": "Re: my subject",
        "body": body,
        "next_state": "pending reminder",
        "pending_until": "2030-01-02T10:00",
    }


def test_a_saved_draft_comes_back_after_a_new_login_on_another_device(world):
    world.alice.set_password(PASSWORD)
    world.alice.save()
    first = Client()
    first.force_login(world.alice)
    answer = save(first, world.ticket, **reply_fields(world))
    assert answer.status_code == 200
    assert answer.json()["time"]
    first.post(reverse("logout"))
    other = Client()  # another browser, a new login
    assert other.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}
    ).status_code in (302, 303)
    page = other.get(reverse("reply", args=[world.ticket.number])).content.decode()
    assert MINE in page
    assert 'value="boss@example.net"' in page
    assert 'value="Re: my subject"' in page
    assert "Draft restored — saved at" in page
    assert "Discard draft" in page


@pytest.mark.parametrize("kind", ["note", "forward"])
def test_note_and_forward_drafts_are_restored_too(client, world, kind):
    client.force_login(world.alice)
    assert (
        save(client, world.ticket, kind, text=MINE, to="x@example.net").status_code
        == 200
    )
    page = client.get(reverse(kind, args=[world.ticket.number])).content.decode()
    assert MINE in page
    assert "Draft restored" in page


def test_drafts_are_per_agent_and_kind(client, world):
    client.force_login(world.alice)
    save(client, world.ticket, "note", text=MINE)
    page = client.get(reverse("reply", args=[world.ticket.number])).content.decode()
    assert MINE not in page
    client.force_login(world.bob)
    page = client.get(reverse("note", args=[world.ticket.number])).content.decode()
    assert MINE not in page and "Draft restored" not in page


def test_the_endpoint_needs_a_login(world):
    answer = save(Client(), world.ticket, body=MINE)
    assert answer.status_code == 401
    assert not ComposeDraft.objects.exists()


def test_the_endpoint_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    assert save(client, world.ticket, body=MINE).status_code == 403
    assert not ComposeDraft.objects.exists()
    client.get(reverse("reply", args=[world.ticket.number]))
    token = client.cookies["csrftoken"].value
    answer = client.post(
        reverse("draft", args=[world.ticket.number]),
        json.dumps({"kind": "reply", "fields": {"body": MINE}}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert answer.status_code == 200
    assert ComposeDraft.objects.get().fields == {"body": MINE}


def test_a_ticket_the_agent_may_not_see_is_not_found(client, world):
    client.force_login(world.alice)
    for number in (world.hidden.number, "999999999"):
        answer = save(client, type("T", (), {"number": number}), body=MINE)
        assert answer.status_code == 404
        assert "not found" in answer.json()["error"]
    assert not ComposeDraft.objects.exists()


def test_a_note_only_agent_may_keep_a_note_draft_but_not_a_reply_draft(client, world):
    noter = admin.create_agent("noter", email="noter@example.org")
    admin.grant(world.info.group, [Permission.RO, Permission.NOTE], agent=noter)
    client.force_login(noter)
    assert save(client, world.ticket, "note", text=MINE).status_code == 200
    assert save(client, world.ticket, "reply", body=MINE).status_code == 403


def test_bad_input_gets_a_clear_error(client, world):
    client.force_login(world.alice)
    url = reverse("draft", args=[world.ticket.number])
    bad = client.post(url, "{not json", content_type="application/json")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    kind = save(client, world.ticket, "letter", body=MINE)
    assert kind.status_code == 404 and "no such kind" in kind.json()["error"]
    nested = save(client, world.ticket, body={"a": 1})
    assert nested.status_code == 400 and "must be text" in nested.json()["error"]
    assert not ComposeDraft.objects.exists()


def test_a_draft_over_the_size_limit_is_refused_clearly(client, world, settings):
    settings.HELPLINE_DRAFT_MAX_BYTES = 1000
    client.force_login(world.alice)
    assert save(client, world.ticket, body="x" * 900).status_code == 200
    answer = save(client, world.ticket, body="y" * 1200)
    assert answer.status_code == 413
    assert "at most 1000" in answer.json()["error"]
    assert "still in the form" in answer.json()["error"]
    assert ComposeDraft.objects.get().fields["body"] == "x" * 900  # the last kept


def test_sending_the_reply_deletes_the_draft(client, world):
    client.force_login(world.alice)
    save(client, world.ticket, **reply_fields(world))
    url = reverse("reply", args=[world.ticket.number])
    fields = {**reply_fields(world), "next_state": "open", "pending_until": ""}
    assert client.post(url, fields).status_code == 302
    assert not ComposeDraft.objects.exists()
    assert Article.objects.filter(ticket=world.ticket, body_text__contains=MINE)


def test_a_reply_that_fails_keeps_the_draft(client, world, monkeypatch):
    from helpline.errors import InvalidInput
    from helpline.web.views import compose

    client.force_login(world.alice)
    save(client, world.ticket, **reply_fields(world))

    def refuse(*args, **kwargs):
        raise InvalidInput("refused")

    monkeypatch.setattr(compose, "reply", refuse)
    fields = {**reply_fields(world), "next_state": "open", "pending_until": ""}
    client.post(reverse("reply", args=[world.ticket.number]), fields)
    assert ComposeDraft.objects.get().fields["body"] == MINE


@pytest.mark.parametrize("kind", ["note", "forward"])
def test_adding_the_note_or_forward_deletes_its_draft(client, world, kind):
    client.force_login(world.alice)
    save(client, world.ticket, kind, text=MINE)
    save(client, world.ticket, "reply", body="the reply draft stays")
    post = {"subject": "s", "text": MINE, "to": "fwd@example.net"}
    assert (
        client.post(reverse(kind, args=[world.ticket.number]), post).status_code == 302
    )
    assert list(ComposeDraft.objects.values_list("kind", flat=True)) == ["reply"]


def test_without_javascript_save_and_discard_buttons_work(client, world):
    client.force_login(world.alice)
    url = reverse("draft", args=[world.ticket.number])
    saved = client.post(url, {**reply_fields(world), "draft_kind": "reply"})
    assert saved.status_code == 302
    assert saved["Location"].startswith(reverse("reply", args=[world.ticket.number]))
    assert ComposeDraft.objects.get().fields["cc"] == "boss@example.net"
    page = client.get(saved["Location"]).content.decode()
    assert "Draft saved at" in page and MINE in page
    gone = client.post(url, {"draft_kind": "reply", "draft_action": "discard"})
    assert gone.status_code == 302
    assert not ComposeDraft.objects.exists()
    assert MINE not in client.get(gone["Location"]).content.decode()


def test_others_see_that_a_draft_exists_but_not_its_text(client, world):
    client.force_login(world.bob)
    save(client, world.ticket, body=MINE)
    client.force_login(world.alice)
    poll = client.post(
        reverse("presence", args=[world.ticket.number]),
        {"action": "viewing", "version": world.ticket.version},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Bob B has an unsent draft." in poll
    assert MINE not in poll
    zoom = client.get(reverse("zoom", args=[world.ticket.number])).content.decode()
    assert "Bob B has an unsent draft." in zoom and MINE not in zoom
    client.force_login(world.bob)  # not about oneself
    mine = client.get(reverse("zoom", args=[world.ticket.number])).content.decode()
    assert "has an unsent draft" not in mine


def test_after_withdrawal_the_agent_keeps_its_own_text_only(client, world):
    world.ticket.title = "TICKET SUBJECT XYZ"
    world.ticket.save(update_fields=["title"])
    client.force_login(world.alice)
    body = (
        f"Dear Jane,\n\n{MINE}\n\n"
        "On 2026-01-02 10:00, customer@example.net wrote:\n> CUSTOMER WORDS\n"
    )
    save(client, world.ticket, **{**reply_fields(world), "body": body})
    admin.revoke(world.info.group, [Permission.RW], agent=world.alice)
    page = client.get(reverse("my-drafts")).content.decode()
    assert MINE in page
    for ticket_content in (
        "CUSTOMER WORDS",
        "TICKET SUBJECT XYZ",
        world.ticket.number,
        "customer@example.net",
        "boss@example.net",
        "Re: my subject",
    ):
        assert ticket_content not in page
    assert "a ticket you can no longer read" in page
    # Saving again is refused like any ticket URL.
    assert save(client, world.ticket, body="more").status_code == 404
    # Nobody else sees it: not bob (who may read the ticket), not eve.
    for other in (world.bob, world.eve):
        client.force_login(other)
        assert MINE not in client.get(reverse("my-drafts")).content.decode()
        [draft] = ComposeDraft.objects.all()
        answer = client.post(reverse("discard-draft", args=[draft.pk]))
        assert answer.status_code == 404
    client.force_login(world.alice)
    [draft] = ComposeDraft.objects.all()
    assert client.post(reverse("discard-draft", args=[draft.pk])).status_code == 302
    assert not ComposeDraft.objects.exists()


def test_my_drafts_lists_readable_tickets_with_a_link(client, world):
    client.force_login(world.alice)
    save(client, world.ticket, body=MINE)
    page = client.get(reverse("my-drafts")).content.decode()
    assert world.ticket.number in page
    assert reverse("reply", args=[world.ticket.number]) in page


def test_my_drafts_costs_the_same_queries_for_many_drafts(client, world):
    client.force_login(world.alice)
    save(client, world.ticket, body=MINE)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("my-drafts")).status_code == 200
        return len(captured)

    one = queries()
    for i in range(5):
        ticket = email_ticket(world.info, title=f"t{i}")
        save(client, ticket, "note", text=f"note {i}")
    assert one > 0
    assert queries() <= one
    admin.revoke(world.info.group, [Permission.RW], agent=world.alice)
    assert queries() <= one


def test_removing_the_ticket_removes_its_drafts(world):
    drafts.save_draft(world.alice, world.ticket.pk, kind="reply", fields={"body": MINE})
    drafts.save_draft(world.eve, world.hidden.pk, kind="note", fields={"text": "keep"})
    removal.delete_tickets([world.ticket.pk], actor=None, reason="test")
    assert list(ComposeDraft.objects.values_list("fields", flat=True)) == [
        {"text": "keep"}
    ]


def test_anonymising_the_ticket_removes_its_drafts(world):
    drafts.save_draft(world.alice, world.ticket.pk, kind="reply", fields={"body": MINE})
    removal.anonymise_tickets([world.ticket.pk], actor=None, reason="test")
    assert not ComposeDraft.objects.exists()


def test_old_drafts_are_purged_by_the_nightly_job(world, settings):
    from huey.api import PeriodicTask

    from helpline import jobs

    settings.HELPLINE_DRAFT_DAYS = 30
    old = drafts.save_draft(world.alice, world.ticket.pk, kind="reply", fields={})
    drafts.save_draft(world.alice, world.ticket.pk, kind="note", fields={"text": "new"})
    ComposeDraft.objects.filter(pk=old.pk).update(
        updated=timezone.now() - timedelta(days=31)
    )
    task = jobs.purge_drafts_job
    assert issubclass(task.task_class, PeriodicTask)
    assert task.call_local() == 1
    assert list(ComposeDraft.objects.values_list("kind", flat=True)) == ["note"]


def test_the_purge_works_in_batches(world):
    for kind in ("reply", "note", "forward"):
        drafts.save_draft(world.alice, world.ticket.pk, kind=kind, fields={})
    ComposeDraft.objects.update(updated=timezone.now() - timedelta(days=90))
    assert drafts.purge_old_drafts(30, batch=2) == 3
    assert not ComposeDraft.objects.exists()


def test_the_endpoint_gives_back_the_agents_own_draft(client, world):
    client.force_login(world.alice)
    url = reverse("draft", args=[world.ticket.number])
    assert client.get(url, {"kind": "reply"}).status_code == 404
    save(client, world.ticket, **reply_fields(world))
    answer = client.get(url, {"kind": "reply"})
    assert answer.status_code == 200
    assert answer.json()["fields"]["body"] == MINE
    client.force_login(world.bob)
    assert client.get(url, {"kind": "reply"}).status_code == 404
    client.force_login(world.eve)
    assert client.get(url, {"kind": "reply"}).status_code == 404


def test_a_restored_note_draft_keeps_its_template_chosen(client, world):
    from helpline.models import Template

    checked = Template.objects.create(name="Checked", type="note", text="Checked.")
    checked.queues.add(world.info)
    client.force_login(world.alice)
    save(client, world.ticket, "note", text=MINE, template=str(checked.pk))
    page = client.get(reverse("note", args=[world.ticket.number])).content.decode()
    assert f'<option value="{checked.pk}" selected>Checked</option>' in page
