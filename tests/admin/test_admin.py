"""The administration screens: every page opens, texts and filters are validated,
the quarantine can be replayed, the outbox retried, and the permission grid edits grants."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.actions import admin as admin_actions
from helpline.mail.intake import receive
from helpline.models import (
    Grant,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    Permission,
    Template,
)
from tests.support import make_agent, make_group, make_queue


@pytest.fixture
def boss(db, client):
    user = make_agent("boss", is_admin=True)
    client.force_login(user)
    return user


ADMIN_MODELS = [
    "queue",
    "systemaddress",
    "group",
    "role",
    "agentprofile",
    "ticketstate",
    "salutation",
    "signature",
    "template",
    "autoresponse",
    "postmasterfilter",
    "mailaccount",
    "inboundmessage",
    "outboxmessage",
    "agentaccount",
    "adminauditentry",
]


@pytest.mark.django_db
@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_every_configuration_list_opens(boss, client, model):
    response = client.get(reverse(f"admin:helpline_{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.django_db
def test_agent_preferences_are_shown_but_not_edited_in_the_admin(boss, client):
    agent = make_agent("alice")
    url = reverse("admin:helpline_agentprofile_change", args=[agent.agent_profile.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"language": "de", "article_order": "oldest"})
    assert response.status_code == 403
    agent.agent_profile.refresh_from_db()
    assert agent.agent_profile.language != "de"


@pytest.mark.django_db
def test_tickets_and_articles_are_not_in_the_admin(boss, client):
    from django.urls import NoReverseMatch

    for model in ("ticket", "article", "attachment", "historyentry"):
        with pytest.raises(NoReverseMatch):
            reverse(f"admin:helpline_{model}_changelist")


@pytest.mark.django_db
def test_a_template_with_an_unknown_placeholder_is_refused(boss, client):
    response = client.post(
        reverse("admin:helpline_template_add"),
        {
            "name": "t",
            "type": "answer",
            "text": "Hi {{ ticket.secret }}",
            "valid": "on",
            "attachments-TOTAL_FORMS": "0",
            "attachments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Unknown placeholder" in response.content.decode()
    assert not Template.objects.exists()


@pytest.mark.django_db
def test_a_filter_with_a_bad_regex_is_refused(boss, client):
    response = client.post(
        reverse("admin:helpline_postmasterfilter_add"),
        {
            "name": "f",
            "order": "0",
            "matches": '[{"header": "From", "regex": "("}]',
            "sets": '{"ignore": true}',
            "valid": "on",
        },
    )
    assert "Bad regular expression" in response.content.decode()


@pytest.mark.django_db
def test_quarantined_mail_can_be_downloaded_and_replayed_then_follows_its_queue(
    boss, client
):
    """Mail on no ticket is the administrator's (download, replay); once on a ticket,
    its raw bytes follow the queue's permissions like any ticket content."""
    group = make_group("g")
    message, _ = receive(b"From: a@example.net\nSubject: x\n\nbody", transport="test")
    from helpline.mail import postmaster

    postmaster.process_inbound(message.pk)  # no default queue yet: quarantined
    message.refresh_from_db()
    assert message.status == InboundStatus.QUARANTINED
    raw_url = reverse("admin:helpline_inboundmessage_raw", args=[message.pk])
    raw = client.get(raw_url)
    assert raw.content == b"From: a@example.net\nSubject: x\n\nbody"
    assert raw["Content-Disposition"].startswith("attachment")
    assert raw["Content-Type"] == "application/octet-stream"
    make_queue("Raw", group=group)
    response = client.post(
        reverse("admin:helpline_inboundmessage_changelist"),
        {"action": "replay", "_selected_action": [message.pk]},
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == InboundStatus.PROCESSED
    assert client.get(raw_url).status_code == 404  # now on a ticket of queue Raw
    admin_actions.grant(group, [Permission.RO], agent=boss)
    assert client.get(raw_url).content.endswith(b"body")


@pytest.mark.django_db
def test_failed_outbox_mail_can_be_sent_again(boss, client):
    from django.utils import timezone

    from helpline.blobstore import store_blob

    row = OutboxMessage.objects.create(
        raw=store_blob(b"x"),
        message_id="m@x",
        envelope_from="a@x",
        recipients=["b@x"],
        status=OutboxStatus.FAILED,
        next_attempt=timezone.now(),
    )
    client.post(
        reverse("admin:helpline_outboxmessage_changelist"),
        {"action": "retry", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert row.status == OutboxStatus.QUEUED


@pytest.mark.django_db
def test_the_retired_permission_grid_leads_to_the_permission_screen(boss, client):
    """The grid posted a field per checkbox and failed past ~1,000 grants
    (TooManyFieldsSent); its address now opens /administration/permissions/, which
    saves any number (tests/adminarea/test_permission_pages.py)."""
    group = make_group("info")
    alice = make_agent("alice")
    admin_actions.grant(group, [Permission.NOTE], agent=alice)
    url = reverse("admin:helpline_permission_grid")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin-permissions")
    response = client.post(url, {"grant": [f"a{alice.pk}:{group.pk}:rw"]})
    assert response.status_code == 302
    perms = set(Grant.objects.filter(agent=alice).values_list("permission", flat=True))
    assert perms == {"note"}  # the old form's post changes nothing any more
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_agents_who_are_not_staff_cannot_open_the_admin(client):
    client.force_login(make_agent("plain"))
    response = client.get(reverse("admin:helpline_queue_changelist"))
    assert response.status_code == 302
