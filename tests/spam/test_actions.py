"""The "Spam" and "Not spam" actions, against a real SpamAssassin (tests/spam/spamd.py):
the ticket moves to its queue's junk queue and back to where routing puts it, the
history says so, and the filter learns the mail (the score after "Spam" is higher,
after "Not spam" lower again)."""

from __future__ import annotations

import pytest

from helpline.actions import admin
from helpline.actions.spam import mark_not_spam, mark_spam
from helpline.actions.tickets import move_ticket
from helpline.blobstore import read_blob
from helpline.errors import InvalidInput, PermissionDenied
from helpline.models import HistoryEntry, HistoryType, Permission, Ticket
from helpline.spam import spamd
from tests.spam.desk import deliver, make_desk
from tests.spam.spamd import message, words
from tests.support import make_agent, make_group, make_queue
from tests.transports.dovecot import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db):
    return make_desk()


def ticket_by_mail(subject: str, body: str) -> Ticket:
    delivered = deliver(message(subject=subject, body=body))
    assert delivered.ticket is not None, delivered.reason
    return Ticket.objects.select_related("queue").get(pk=delivered.ticket_id)


def raw_of(ticket: Ticket) -> bytes:
    article = ticket.articles.filter(incoming=True).first()
    assert article is not None and article.raw is not None
    return read_blob(article.raw)


def learn_some_ham() -> None:
    """Bayes answers only once it has learned ham too (bayes_min_ham_num 1)."""
    spamd.learn(message(subject="Photo permission", body=words()), spam=False)


def history(ticket: Ticket) -> list[str]:
    return list(
        HistoryEntry.objects.filter(ticket=ticket)
        .order_by("pk")
        .values_list("type", flat=True)
    )


def test_spam_moves_the_ticket_to_junk_and_its_mail_scores_higher_afterwards(
    desk, filter_on
):
    learn_some_ham()
    ticket = ticket_by_mail("Cheap watches", words())
    assert ticket.queue == desk.info
    before = spamd.check(raw_of(ticket))

    result = mark_spam(desk.agent, ticket.pk)

    assert (result.moved, result.queue, result.learned) == (True, "Junk", 1)
    assert result.not_learned == ""
    ticket.refresh_from_db()
    assert ticket.queue == desk.junk
    assert history(ticket)[-2:] == ["spam", "moved"]
    entry = HistoryEntry.objects.get(ticket=ticket, type=HistoryType.SPAM)
    assert entry.actor == desk.agent
    assert entry.data == {"queue": "Info", "junk": "Junk"}
    after = spamd.check(raw_of(ticket))
    assert after.score > before.score
    assert "BAYES_99" in after.symbols
    assert "BAYES_99" not in before.symbols


def test_not_spam_moves_it_back_where_routing_puts_it_and_unlearns(desk, filter_on):
    learn_some_ham()
    ticket = ticket_by_mail("Cheap watches", words())
    # An agent had moved it to Raw before someone called it spam: "Not spam" sends
    # it where its mail is routed (the address of Info), not where it last was.
    move_ticket(desk.agent, ticket.pk, desk.raw)
    mark_spam(desk.agent, ticket.pk)
    as_spam = spamd.check(raw_of(ticket))

    result = mark_not_spam(desk.agent, ticket.pk)

    assert (result.moved, result.queue, result.learned) == (True, "Info", 1)
    ticket.refresh_from_db()
    assert ticket.queue == desk.info
    entry = HistoryEntry.objects.get(ticket=ticket, type=HistoryType.NOT_SPAM)
    assert entry.data == {"queue": "Junk", "to": "Info"}
    as_ham = spamd.check(raw_of(ticket))
    assert as_ham.score < as_spam.score
    assert "BAYES_99" not in as_ham.symbols


def test_not_spam_of_a_ticket_without_mail_returns_it_to_the_queue_it_came_from(
    desk, filter_on
):
    from tests.support import make_ticket

    ticket = make_ticket(desk.raw)
    mark_spam(desk.agent, ticket.pk)
    result = mark_not_spam(desk.agent, ticket.pk)
    ticket.refresh_from_db()
    assert ticket.queue == desk.raw
    assert result.not_learned == "the ticket has no received mail"


def test_the_queue_s_own_junk_queue_wins_over_the_default_one(desk, filter_on):
    other = make_queue("Junk-de", group=desk.info.group)
    desk.info.junk_queue = other
    admin.save_queue(None, desk.info, changed=["junk_queue"])
    ticket = ticket_by_mail("Billig", words())
    mark_spam(desk.agent, ticket.pk)
    ticket.refresh_from_db()
    assert ticket.queue == other


def test_spam_without_a_junk_queue_is_refused_and_changes_nothing(
    desk, filter_on, settings
):
    settings.HELPLINE_JUNK_QUEUE = "Nowhere"
    ticket = ticket_by_mail("Cheap watches", words())
    with pytest.raises(InvalidInput, match="no junk queue"):
        mark_spam(desk.agent, ticket.pk)
    ticket.refresh_from_db()
    assert ticket.queue == desk.info
    assert "spam" not in history(ticket)


def test_spam_needs_move_into_on_the_junk_queue(desk, filter_on):
    junk_group = make_group("Spam wardens")
    guarded = make_queue("Guarded junk", group=junk_group)
    desk.info.junk_queue = guarded
    admin.save_queue(None, desk.info, changed=["junk_queue"])
    ticket = ticket_by_mail("Cheap watches", words())
    with pytest.raises(PermissionDenied):
        mark_spam(desk.agent, ticket.pk)
    ticket.refresh_from_db()
    assert ticket.queue == desk.info
    # An agent who may not see the ticket learns nothing of it.
    stranger = make_agent("mallory")
    admin.grant(junk_group, [Permission.RW], agent=stranger)
    from helpline.errors import TicketNotFound

    with pytest.raises(TicketNotFound):
        mark_spam(stranger, ticket.pk)


def test_a_filter_that_is_down_leaves_the_ticket_moved_and_says_it_learned_nothing(
    desk, settings
):
    settings.HELPLINE_SPAMD = f"127.0.0.1:{free_port()}"
    settings.HELPLINE_SPAM_TIMEOUT = 5
    ticket = ticket_by_mail("Cheap watches", words())
    result = mark_spam(desk.agent, ticket.pk)
    ticket.refresh_from_db()
    assert ticket.queue == desk.junk
    assert result.learned == 0
    assert result.not_learned.startswith("spamd:")


def test_without_a_filter_spam_still_moves_the_ticket(desk, settings):
    settings.HELPLINE_SPAMD = ""
    ticket = ticket_by_mail("Cheap watches", words())
    result = mark_spam(desk.agent, ticket.pk)
    assert result.moved
    assert "no spam filter configured" in result.not_learned


def test_spam_costs_the_same_queries_whatever_the_mail_of_the_ticket(
    desk, filter_on, settings
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.HELPLINE_TICKET_HOOK = "Ticket#"
    short = ticket_by_mail("Cheap watches", words())
    long = ticket_by_mail("Cheap rings", words())
    for _ in range(3):
        deliver(
            message(subject=f"Re: [Ticket#{long.number}] Cheap rings", body=words())
        )
    assert long.articles.filter(incoming=True).count() == 4
    # The agent's grants are read once and kept: read them before counting.
    mark_spam(desk.agent, ticket_by_mail("Warm-up", words()).pk)

    counts = []
    for ticket in (short, long):
        with CaptureQueriesContext(connection) as queries:
            result = mark_spam(desk.agent, ticket.pk)
        counts.append(len(queries))
        assert result.learned == ticket.articles.filter(incoming=True).count()
    assert counts[0] == counts[1]
