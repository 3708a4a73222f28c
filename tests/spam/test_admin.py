"""A queue's junk queue is set on the queue's administration form, through
``actions.admin`` (logged like every other change of a queue)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.models import AdminAuditEntry, Queue
from tests.support import make_agent, make_group, make_queue

pytestmark = pytest.mark.django_db


def test_the_queue_form_sets_its_junk_queue(client):
    boss = make_agent("boss", is_admin=True)
    client.force_login(boss)
    group = make_group("g")
    info = make_queue("Info", group=group)
    junk_de = make_queue("Junk-de", group=group)
    url = reverse("admin:helpline_queue_change", args=[info.pk])
    assert 'name="junk_queue"' in client.get(url).content.decode()

    response = client.post(
        url,
        {
            "name": "Info",
            "group": str(group.pk),
            "follow_up": "possible",
            "unlock_timeout": "0",
            "valid": "on",
            "junk_queue": str(junk_de.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Queue.objects.get(pk=info.pk).junk_queue == junk_de
    entry = AdminAuditEntry.objects.filter(actor=boss, action="changed").last()
    assert entry is not None and "junk_queue" in entry.after
