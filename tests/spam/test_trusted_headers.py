"""The headers of an MTA's spam filter count only from the configured trusted hops:
a sender who writes ``X-Spam-Flag: NO`` (or ``YES``) into a message changes nothing."""

from __future__ import annotations

import pytest

from helpline.mail.spam import header_verdict, trusted_headers
from helpline.models import InboundStatus, OutboxMessage, Ticket
from tests.spam.desk import deliver, make_desk
from tests.spam.spamd import message, words

pytestmark = pytest.mark.django_db

MX = "mx.helpline.test"
BY_MX = f"from mail.example.net (mail.example.net [192.0.2.7]) by {MX} with ESMTPS"
BY_EVIL = "from spammer.example by relay.evil.example with SMTP"
STATUS = (
    "Yes, score=12.3 required=5.0 tests=BAYES_99,DRUGS_ERECTILE,URIBL_BLACK "
    "autolearn=no autolearn_force=no version=4.0.1"
)


@pytest.fixture
def desk(db, settings):
    settings.HELPLINE_SPAM_TRUSTED_HOPS = [MX, "relay.helpline.test"]
    settings.HELPLINE_SPAM_CHECK = []
    return make_desk()


def received(raw: bytes, commits) -> tuple[object, Ticket]:
    with commits(execute=True):
        delivered = deliver(raw)
    assert delivered.status == InboundStatus.PROCESSED, delivered.error
    return delivered, Ticket.objects.get(pk=delivered.ticket_id)


def test_a_trusted_hop_s_verdict_sends_the_mail_to_junk_unanswered(
    desk, django_capture_on_commit_callbacks
):
    raw = message(
        subject="Cheap meds",
        body=words(),
        top=(
            ("X-Spam-Flag", "YES"),
            ("X-Spam-Status", STATUS),
            ("Received", BY_MX),
        ),
    )
    delivered, ticket = received(raw, django_capture_on_commit_callbacks)
    assert ticket.queue == desk.junk
    assert delivered.spam_score == 12.3
    assert delivered.spam_symbols == ["BAYES_99", "DRUGS_ERECTILE", "URIBL_BLACK"]
    assert delivered.decisions["spam"]["by"] == "header X-Spam-Status"
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "top",
    [
        # No trusted hop at all (LMTP without an MTA in front): the sender's words.
        (("X-Spam-Flag", "YES"), ("X-Spam-Score", "20")),
        # Below the trusted hop's line: written before it got there.
        (("Received", BY_MX), ("X-Spam-Flag", "YES")),
        # Above a hop that is not trusted, which the trusted hop received it from.
        (("Received", BY_EVIL), ("X-Spam-Flag", "YES"), ("Received", BY_MX)),
    ],
    ids=["no-hop", "below-the-hop", "above-an-untrusted-hop"],
)
def test_untrusted_spam_headers_are_ignored(
    desk, django_capture_on_commit_callbacks, top
):
    delivered, ticket = received(
        message(subject="Question", body=words(), top=top),
        django_capture_on_commit_callbacks,
    )
    assert ticket.queue == desk.info
    assert delivered.spam_score is None
    assert "spam" not in delivered.decisions
    assert delivered.decisions["auto_response"] == "reply"


def test_a_trusted_no_keeps_the_mail_where_routing_puts_it(
    desk, django_capture_on_commit_callbacks
):
    # A sender's YES under the MX's NO: the MX's verdict counts.
    raw = message(
        subject="Question",
        body=words(),
        top=(
            ("X-Spam-Flag", "NO"),
            ("X-Spam-Score", "-1.5"),
            ("Received", BY_MX),
            ("X-Spam-Flag", "YES"),
        ),
    )
    delivered, ticket = received(raw, django_capture_on_commit_callbacks)
    assert ticket.queue == desk.info
    assert delivered.spam_score == -1.5
    assert delivered.decisions["spam"]["spam"] is False


def test_rspamd_headers_from_a_chain_of_trusted_hops():
    raw = message(
        subject="x",
        body="y",
        top=(
            ("Received", "from mx.helpline.test by relay.helpline.test with LMTP"),
            ("X-Rspamd-Action", "add header"),
            ("X-Rspamd-Score", "9.40"),
            ("Received", BY_MX),
        ),
    )
    headers = trusted_headers(raw, [MX, "relay.helpline.test"])
    verdict = header_verdict(headers)
    assert verdict is not None
    assert (verdict.spam, verdict.score) == (True, 9.4)
    assert verdict.source == "header x-rspamd-action"
    # With no trusted hop configured nothing counts.
    assert trusted_headers(raw, []) == {}


def test_spamassassin_s_folded_status_header_gives_every_test():
    raw = (
        b"X-Spam-Flag: YES\r\n"
        b"X-Spam-Status: Yes, score=7.1 required=5.0 tests=BAYES_99,BAYES_999,\r\n"
        b"\tDRUGS_ERECTILE,MISSING_DATE autolearn=disabled version=4.0.1\r\n"
        b"Received: from a.example by mx.helpline.test; Mon, 7 Dec 2026 00:00:00 +0000\r\n"
        b"Subject: x\r\n\r\nbody\r\n"
    )
    verdict = header_verdict(trusted_headers(raw, [MX]))
    assert verdict is not None
    assert (verdict.spam, verdict.score, verdict.threshold) == (True, 7.1, 5.0)
    assert verdict.symbols == [
        "BAYES_99",
        "BAYES_999",
        "DRUGS_ERECTILE",
        "MISSING_DATE",
    ]


def test_mail_show_tells_the_score_and_the_rules(
    desk, django_capture_on_commit_callbacks
):
    from tests.cli import run

    raw = message(
        subject="Cheap meds",
        body=words(),
        top=(("X-Spam-Status", STATUS), ("Received", BY_MX)),
    )
    delivered, _ = received(raw, django_capture_on_commit_callbacks)
    shown = run("mail", "show", str(delivered.pk))
    assert "Spam score: 12.3 (BAYES_99, DRUGS_ERECTILE, URIBL_BLACK)" in shown
    decisions = shown.split("Decisions:", 1)[1]
    # (PostgreSQL's jsonb keeps the keys in an order of its own.)
    assert "'spam': True" in decisions and "'score': 12.3" in decisions


def test_a_batch_stores_each_message_s_score_and_rules(desk):
    """Several messages processed in one transaction save their outcomes in one
    statement (``chain.record_all``): the scores and rules go with them."""
    from helpline.mail.intake import receive
    from helpline.mail.postmaster import process_batch

    status = "Yes, score=9.5 required=5.0 tests=ONE,TWO autolearn=no"
    raws = [
        message(
            subject="A",
            body=words(),
            top=(("X-Spam-Status", status), ("Received", BY_MX)),
        ),
        message(subject="B", body=words()),
    ]
    stored = [receive(raw, transport="imap")[0] for raw in raws]
    done = process_batch([m.pk for m in stored])
    assert len(done) == 2
    first, second = (type(m).objects.get(pk=m.pk) for m in stored)
    assert (first.spam_score, first.spam_symbols) == (9.5, ["ONE", "TWO"])
    assert (second.spam_score, second.spam_symbols) == (None, None)
    assert Ticket.objects.get(pk=first.ticket_id).queue == desk.junk
    assert Ticket.objects.get(pk=second.ticket_id).queue == desk.info


def test_a_follow_up_judged_spam_is_kept_but_reopens_and_answers_nothing(
    desk, django_capture_on_commit_callbacks
):
    from helpline.actions.tickets import close_ticket
    from helpline.models import StateType

    _, ticket = received(
        message(subject="Question", body=words()), django_capture_on_commit_callbacks
    )
    close_ticket(desk.agent, ticket.pk, note="Answered.")
    outbox = OutboxMessage.objects.count()
    raw = message(
        subject=f"Re: [Ticket#{ticket.number}] Question",
        body=words(),
        top=(("X-Spam-Flag", "YES"), ("Received", BY_MX)),
    )
    delivered, same = received(raw, django_capture_on_commit_callbacks)

    assert same.pk == ticket.pk
    assert delivered.reason == "follow_up (spam, state kept)"
    assert same.state_type == StateType.CLOSED
    assert same.articles.filter(incoming=True).count() == 2
    assert OutboxMessage.objects.count() == outbox
