"""The weekly report mail: through the outbox, only figures the agent may see,
once a week."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

import pytest
from django.core.management import call_command
from django.urls import reverse

from helpline.actions.preferences import set_preferences
from helpline.actions.reports import set_report_mail
from helpline.actions.reports_aggregate import update_reports
from helpline.blobstore import read_blob
from helpline.errors import PermissionDenied
from helpline.models import OutboxMessage
from helpline.responses.report_mail import send_weekly_reports
from tests.web import web_settings

pytestmark = pytest.mark.django_db

NEXT_MONDAY = date(2026, 3, 9)


def _mails() -> dict[str, str]:
    out = {}
    for row in OutboxMessage.objects.all():
        msg = message_from_bytes(read_blob(row.raw), policy=policy.default)
        out[row.recipients[0]] = msg.get_body(("plain",)).get_content()
    return out


def test_weekly_mail_has_only_what_the_agent_may_see(desk):
    update_reports()
    set_report_mail(desk.alice, desk.alice, subscribed=True)
    call_command("reports", "mail", "bob", "on")
    assert send_weekly_reports(today=NEXT_MONDAY) == 2
    mails = _mails()
    alice, bob = mails["alice@example.org"], mails["bob@example.org"]
    assert "03/02/2026" in alice  # the week, as English writes dates
    assert "3 received, 2 answered, 1 closed" in alice
    assert "Queue B" not in alice
    assert "Queue A: 3 received" in bob and "Queue B: 1 received" in bob
    # Once a week, however often the job runs.
    assert send_weekly_reports(today=NEXT_MONDAY) == 0
    assert send_weekly_reports(today=date(2026, 3, 11)) == 0
    assert OutboxMessage.objects.count() == 2


def test_only_self_or_admin_subscribes(desk):
    with pytest.raises(PermissionDenied):
        set_report_mail(desk.alice, desk.bob, subscribed=True)
    set_report_mail(desk.root, desk.bob, subscribed=True)
    assert send_weekly_reports(today=NEXT_MONDAY) == 1


def test_subscribe_on_the_page(client, desk, settings):
    web_settings(settings)
    client.force_login(desk.alice)
    response = client.post(reverse("report-mail"), {"subscribe": "1"})
    assert response.status_code == 302
    page = client.get(reverse("reports")).content.decode()
    assert "Stop the weekly report mail" in page
    assert send_weekly_reports(today=NEXT_MONDAY) == 1


def test_the_weekly_mail_is_in_the_agents_language(desk):
    """German dates, words and decimals for an agent who reads German."""
    update_reports()
    set_preferences(desk.alice, language="de", time_zone="Europe/Berlin")
    set_report_mail(desk.alice, desk.alice, subscribed=True)
    assert send_weekly_reports(today=NEXT_MONDAY) == 1
    msg = message_from_bytes(
        read_blob(OutboxMessage.objects.get().raw), policy=policy.default
    )
    body = msg.get_body(("plain",)).get_content()
    assert msg["Subject"] == "Helpline: die Woche ab 02.03.2026"
    assert "02.03.2026 bis 08.03.2026" in body
    assert "Alle Ihre Queues: 3 eingegangen" in body
    assert " Std." in body and " h;" not in body
    assert "03/02/2026" not in body
