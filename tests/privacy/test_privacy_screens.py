"""The /privacy/ screens: only holders of handle_personal_data get in (a superuser
without it does not); retention's page previews and runs; the erasure is asked for
by address (never in a URL), previewed, confirmed, and its run's page shows how it
went; the queue's administration form lets only holders change retention."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from helpline.actions import admin, privacy_rights, privacy_runs
from helpline.actions.tickets import close_ticket
from helpline.models import Permission, PrivacyRun, Queue, Ticket
from tests.privacy.removing import holder, keep_for, superuser
from tests.support import make_agent, make_group, make_queue, make_ticket
from tests.web import web_settings

pytestmark = pytest.mark.django_db

PAGES = ["privacy", "privacy-retention", "privacy-erasure"]


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def mail_queue(db):
    group = make_group("Desk")
    queue = make_queue("Mail", group=group)
    worker = make_agent("worker")
    admin.grant(group, [Permission.RW], agent=worker)
    return queue, worker


def closed_days_ago(queue, worker, days, **kwargs):
    ticket = make_ticket(queue, **kwargs)
    close_ticket(worker, ticket.pk, note="Done.")
    # Back in time: closed ``days`` ago (no action makes the past).
    Ticket.objects.filter(pk=ticket.pk).update(
        closed_at=timezone.now() - timedelta(days=days)
    )
    return Ticket.objects.get(pk=ticket.pk)


def test_nobody_without_the_right_gets_in_not_even_a_superuser(client, mail_queue):
    client.force_login(superuser())
    run = privacy_runs.new_run("retention")
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 403, name
        assert "handle_personal_data" in response.content.decode()
    assert client.get(reverse("privacy-run", args=[run.pk])).status_code == 403
    response = client.post(
        reverse("privacy-erasure"), {"address": "jane@example.net", "confirm": "1"}
    )
    assert response.status_code == 403
    assert client.post(reverse("privacy-retention")).status_code == 403
    assert PrivacyRun.objects.count() == 1


def test_the_retention_page_previews_and_runs(
    client, mail_queue, django_capture_on_commit_callbacks
):
    queue, worker = mail_queue
    keep_for(queue, 30)
    due = closed_days_ago(queue, worker, 40, title="Old")
    recent = closed_days_ago(queue, worker, 5, title="Recent")
    client.force_login(holder())
    page = client.get(reverse("privacy-retention")).content.decode()
    assert 'data-queue="Mail"' in page
    assert due.number in page and recent.number not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("privacy-retention"))
    run = PrivacyRun.objects.get(kind="retention")
    assert response.url == reverse("privacy-run", args=[run.pk])
    response = client.get(response.url)
    assert "Refresh" not in response  # done: nothing to wait for
    page = response.content.decode()
    assert 'data-status="done"' in page and due.number in page
    assert not Ticket.objects.filter(pk=due.pk).exists()
    assert Ticket.objects.filter(pk=recent.pk).exists()


def test_a_pending_run_page_looks_again(client, mail_queue):
    dpo = holder()
    run = privacy_runs.request_run(dpo, "retention")
    client.force_login(dpo)
    response = client.get(reverse("privacy-run", args=[run.pk]))
    assert response["Refresh"] == "3"
    assert 'data-status="pending"' in response.content.decode()


def test_an_erasure_is_previewed_confirmed_and_reported(
    client, mail_queue, django_capture_on_commit_callbacks
):
    queue, _ = mail_queue
    ticket = make_ticket(queue, title="Jane's matter", customer="jane@example.net")
    client.force_login(holder())
    url = reverse("privacy-erasure")
    response = client.post(url, {"address": "jane@example.net", "preview": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and ticket.number in page
    assert 'name="confirm"' in page
    assert not PrivacyRun.objects.exists()  # a preview changes nothing
    previewed = re.search(r'name="previewed" value="(\w+)"', page).group(1)
    # Another address than the one previewed is previewed, not erased.
    response = client.post(
        url, {"address": "joe@example.net", "confirm": "1", "previewed": previewed}
    )
    assert response.status_code == 200 and not PrivacyRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {"address": "jane@example.net", "confirm": "1", "previewed": previewed},
        )
    run = PrivacyRun.objects.get(kind="erasure")
    assert response.status_code == 302 and "jane" not in response.url
    page = client.get(response.url).content.decode()
    assert 'data-status="done"' in page and ticket.number in page
    assert "jane@example.net" not in page and run.subject in page
    assert Ticket.objects.get(pk=ticket.pk).title == "Anonymised ticket"
    run.refresh_from_db()
    assert (run.report["anonymised"], run.report["customers"]) == ([ticket.number], 1)


def test_an_address_that_is_none_is_a_form_error(client, mail_queue):
    client.force_login(holder())
    response = client.post(reverse("privacy-erasure"), {"address": "not an address"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_the_home_page_lists_the_screens(client, mail_queue):
    client.force_login(holder())
    page = client.get(reverse("privacy")).content.decode()
    for name in ("privacy-retention", "privacy-erasure"):
        assert reverse(name) in page


def test_only_holders_change_retention_on_the_queue_form(client, mail_queue):
    queue, _ = mail_queue
    url = reverse("admin:helpline_queue_change", args=[queue.pk])
    form = {
        "name": "Mail",
        "group": str(queue.group_id),
        "follow_up": "possible",
        "unlock_timeout": "0",
        "valid": "on",
        "retention_days": "1",
        "retention_action": "delete",
    }
    boss = make_agent("boss", is_admin=True)
    client.force_login(boss)
    assert 'name="retention_days"' not in client.get(url).content.decode()
    client.post(url, form)
    assert Queue.objects.get(pk=queue.pk).retention_days is None
    keeper = make_agent("keeper", is_admin=True)
    privacy_rights.give(keeper, privacy_rights.HANDLE_PERSONAL_DATA)
    client.force_login(keeper)
    page = client.get(url).content.decode()
    assert 'name="retention_days"' in page
    # A checkbox and a plain choice (the columns are nullable only for the upgrade).
    assert 'type="checkbox" name="junk"' in page
    assert "Unknown" not in page
    assert client.post(url, {**form, "retention_days": "90"}).status_code == 302
    queue = Queue.objects.get(pk=queue.pk)
    assert (queue.retention_days, queue.junk, queue.retention_action) == (
        90,
        False,
        "delete",
    )
    client.post(url, {**form, "junk": "on", "retention_action": "anonymise"})
    queue = Queue.objects.get(pk=queue.pk)
    assert (queue.junk, queue.retention_action) == (True, "anonymise")
