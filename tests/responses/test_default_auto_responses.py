"""Default auto-responses in a queue's language (responses/defaults.py)."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from django.core.management import call_command

from helpline.blobstore import read_blob
from helpline.errors import InvalidInput
from helpline.mail.intake import receive_and_dispatch
from helpline.models import (
    AdminAuditEntry,
    AutoResponse,
    AutoResponseType,
    OutboxMessage,
)
from helpline.responses.defaults import add_default_auto_responses, default_texts
from tests.mail.messages import mail
from tests.support import make_group, make_queue

# Committed transactions: the auto-response is queued after commit.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_each_language_has_its_texts():
    german = {t.type: t for t in default_texts("de")}
    english = {t.type: t for t in default_texts("en")}
    assert set(german) == set(AutoResponseType.values)
    reply = german[AutoResponseType.REPLY]
    assert reply.name == "auto reply (new ticket) (de)"
    assert reply.subject == "Wir haben Ihre Nachricht erhalten"
    assert "{{ ticket.number }}" in reply.text
    assert german[AutoResponseType.REJECT].text != english[AutoResponseType.REJECT].text
    with pytest.raises(InvalidInput, match="tlh"):
        default_texts("tlh")


def test_a_german_queue_answers_a_new_ticket_in_german():
    group = make_group("info")
    german = make_queue("info-de", group=group, email="info-de@helpline.localhost")
    english = make_queue("info-en", group=group, email="info-en@helpline.localhost")
    call_command("auto_response", "defaults", "info-de", "--language", "de")
    call_command("auto_response", "defaults", "info-en", "--language", "en")
    assert german.auto_responses.count() == 4
    assert english.auto_responses.get(type="reply").subject == (
        "We have received your message"
    )
    # In the administration log, as any configuration change.
    assert AdminAuditEntry.objects.filter(
        action="created", object_repr="auto reply (new ticket) (de)"
    ).exists()
    ticket = receive_and_dispatch(
        mail(subject="Frage zum Artikel", to="info-de@helpline.localhost"),
        transport="test",
    ).ticket
    assert ticket.queue == german
    row = OutboxMessage.objects.get(recipients__icontains="@")
    sent = message_from_bytes(read_blob(row.raw), policy=policy.default)
    assert "Wir haben Ihre Nachricht erhalten" in sent["Subject"]
    body = sent.get_body(("plain",)).get_content()
    assert f"Ticket {ticket.number}" in body


def test_a_kind_the_queue_has_is_left_alone():
    queue = make_queue("info-de", email="info-de@helpline.localhost")
    own = AutoResponse.objects.create(
        name="ours", type=AutoResponseType.REPLY, subject="Danke", text="Danke."
    )
    own.queues.add(queue)
    given = add_default_auto_responses(None, queues=[queue], language="de")
    assert {r.type for r in given} == set(AutoResponseType.values) - {"reply"}
    assert list(queue.auto_responses.filter(type="reply")) == [own]
    # Again: nothing more to give, nothing duplicated.
    assert add_default_auto_responses(None, queues=[queue], language="de") == []
    assert AutoResponse.objects.count() == 4
