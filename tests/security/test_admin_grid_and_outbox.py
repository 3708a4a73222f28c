"""The administration screens and access withdrawal: exchanging grants never withdraws
access in between; what a change withdrew is reported; staff without the right to
change grants cannot use the permission grid; SMTP errors of unreadable mail hide its
addresses."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from helpline.mail import outbound
from helpline.models import Article, Grant, OutboxMessage, OutboxStatus
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db
VICTIM = "wombat-sender@example.net"


def test_outbox_last_error_shows_foreign_recipients(client):
    """The outbox hides a foreign ticket's recipients ("not shown: no access to
    the ticket"), yet its last error names them: outbound.py writes
    "refused: <address>: 550 ..." when the server refuses a recipient."""
    root = make_agent("root", is_admin=True)
    foreign = make_queue("Private", group=make_group("private"), email="p@hl.test")
    ticket = make_ticket(foreign, title="T")
    article = Article.objects.filter(ticket=ticket).first()
    with transaction.atomic():
        out = outbound.queue_message(
            b"From: p@hl.test\r\nTo: x\r\n\r\nhi\r\n",
            message_id="out@example.net",
            envelope_from="p@hl.test",
            recipients=[VICTIM, "other@example.net"],
            article=article,
        )
    # what outbound.py stores for a partly refused send (line ~163)
    OutboxMessage.objects.filter(pk=out.pk).update(
        status=OutboxStatus.SENT,
        last_error=f"refused: {VICTIM}: 550 b'5.1.1 user unknown'",
    )
    client.force_login(root)
    listing = client.get(reverse("admin:helpline_outboxmessage_changelist"))
    text = listing.content.decode()
    assert "not shown: no access to the ticket" in text
    change = client.get(
        reverse("admin:helpline_outboxmessage_change", args=[out.pk])
    ).content.decode()
    assert VICTIM not in text and VICTIM not in change


def test_staff_without_rights_cannot_edit_the_permission_grid(client):
    """docs/web.md: staff other than superusers exist (given handle_unrouted_mail on
    purpose).  The old grid checked only is_staff, so such staff granted themselves
    any queue; its address now leads to the permission screen, which refuses them."""
    group = make_group("Secret")
    make_queue("Secret", group=group)
    staff = make_agent("staff")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    url = reverse("admin:helpline_permission_grid")
    assert client.get(reverse("admin:helpline_group_changelist")).status_code == 403
    response = client.post(url, {"grant": [f"a{staff.pk}:{group.pk}:rw"]})
    assert not Grant.objects.filter(agent=staff).exists(), response.status_code
    screen = reverse("admin-permissions-group", args=[group.pk])
    response = client.post(screen, {"changes": f"+a{staff.pk}:{group.pk}:rw"})
    assert response.status_code == 403
    assert not Grant.objects.filter(agent=staff).exists()
