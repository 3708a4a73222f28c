"""Mail checked by the real spamd in the pipeline (``HELPLINE_SPAM_CHECK``): its score
and symbols stored on the message, spam opened in the junk queue with no
auto-response and no notification, a filter that is down losing nothing."""

from __future__ import annotations

import pytest

from helpline.actions.spam import mark_not_spam, mark_spam
from helpline.models import InboundStatus, OutboxMessage, Ticket
from helpline.spam import spamd
from tests.spam.desk import deliver, make_desk
from tests.spam.spamd import message, words
from tests.transports.dovecot import free_port

pytestmark = pytest.mark.django_db

# Words no other test teaches spamd (the session's spamd learns from every test of
# its worker: "Cheap watches" elsewhere, a pitch of watches in test_listener.py), so
# that this test's first message is not spam already (seen on CI's second leg).
PITCH = "Buy viagra and cialis online now, no prescription needed! "


@pytest.fixture
def desk(db, filter_on, settings):
    settings.HELPLINE_SPAM_CHECK = ["imap", "pop3", "lmtp"]
    # Bayes answers only once it has learned ham too (bayes_min_ham_num 1).
    spamd.learn(message(subject="Photo permission", body=words()), spam=False)
    return make_desk()


def received(raw: bytes, commits, *, transport: str = "lmtp"):
    with commits(execute=True):
        delivered = deliver(raw, transport=transport)
    assert delivered.status == InboundStatus.PROCESSED, delivered.error
    return delivered, Ticket.objects.get(pk=delivered.ticket_id)


def test_mail_like_what_an_agent_called_spam_goes_to_junk_unanswered(
    desk, django_capture_on_commit_callbacks
):
    campaign = PITCH + words()
    first, ticket = received(
        message(subject="Pharmacy deal", body=campaign),
        django_capture_on_commit_callbacks,
    )
    # Not spam yet: routed to Info, answered, and its followers told.
    assert ticket.queue == desk.info
    assert first.spam_score is not None and first.spam_score < 5
    assert first.decisions["spam"]["spam"] is False
    assert OutboxMessage.objects.filter(ticket=ticket).count() == 2

    mark_spam(desk.agent, ticket.pk)
    outbox = OutboxMessage.objects.count()
    again, second = received(
        message(subject="Pharmacy deal", body=campaign, sender="other@example.org"),
        django_capture_on_commit_callbacks,
    )

    assert second.queue == desk.junk
    assert again.spam_score is not None and again.spam_score >= 5
    assert again.spam_score > first.spam_score
    assert "BAYES_99" in again.spam_symbols
    assert again.decisions["spam"] == {
        "spam": True,
        "score": again.spam_score,
        "threshold": 5.0,
        "by": "spamd",
    }
    assert again.decisions["route"] == "recipient info@helpline.localhost; " + (
        "spam, so its junk queue Junk"
    )
    assert again.decisions["auto_response"] == "none"
    # No auto-response to the sender, no notification to Alice who follows Junk.
    assert OutboxMessage.objects.count() == outbox

    # "Not spam": back where the routing puts it, and learned as ham.
    result = mark_not_spam(desk.agent, second.pk)
    second.refresh_from_db()
    assert (second.queue, result.learned) == (desk.info, 1)


def test_only_the_configured_transports_are_checked(
    desk, settings, django_capture_on_commit_callbacks
):
    settings.HELPLINE_SPAM_CHECK = ["imap"]
    by_pipe, _ = received(
        message(subject="Hello", body=words()),
        django_capture_on_commit_callbacks,
        transport="pipe",
    )
    by_imap, _ = received(
        message(subject="Hello", body=words()),
        django_capture_on_commit_callbacks,
        transport="imap",
    )
    assert by_pipe.spam_score is None and "spam" not in by_pipe.decisions
    assert by_imap.spam_score is not None
    assert "NO_RELAYS" in by_imap.spam_symbols


def test_a_filter_that_is_down_leaves_the_mail_unscored_and_processed(
    desk, settings, django_capture_on_commit_callbacks
):
    settings.HELPLINE_SPAMD = f"127.0.0.1:{free_port()}"
    settings.HELPLINE_SPAM_TIMEOUT = 5
    delivered, ticket = received(
        message(subject="Pharmacy deal", body=PITCH + words()),
        django_capture_on_commit_callbacks,
    )
    assert ticket.queue == desk.info
    assert delivered.spam_score is None
    assert delivered.decisions["spam"]["unscored"].startswith("spamd:")
    assert delivered.decisions["auto_response"] == "reply"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_spamd_is_asked_before_the_batch_s_transaction_and_once(
    filter_on, settings, monkeypatch
):
    """Waiting for the filter holds no lock: the worker asks spamd about a batch's
    messages before it opens the batch's transaction (on SQLite, the write lock)."""
    from django.db import connection

    from helpline.mail.intake import receive
    from helpline.mail.postmaster import process_batch

    settings.HELPLINE_SPAM_CHECK = ["imap"]
    desk = make_desk()
    asked: list[bool] = []
    real_check = spamd.check

    def check(raw: bytes):  # the real filter, watched
        asked.append(connection.in_atomic_block)
        return real_check(raw)

    monkeypatch.setattr(spamd, "check", check)
    stored = [
        receive(message(subject=f"Hello {i}", body=words()), transport="imap")[0]
        for i in range(3)
    ]
    process_batch([m.pk for m in stored])

    assert asked == [False, False, False]
    for m in stored:
        m.refresh_from_db()
        assert m.status == InboundStatus.PROCESSED
        assert m.spam_score is not None and m.decisions["spam"]["by"] == "spamd"
        assert Ticket.objects.get(pk=m.ticket_id).queue == desk.info
