"""The PostMaster: every stored message ends as a ticket, a follow-up or a recorded
rejection, and a failure quarantines it for replay instead of losing it."""

from __future__ import annotations

import pytest

from helpline.actions import admin, locks, merge, tickets
from helpline.mail import postmaster
from helpline.mail.intake import receive, receive_and_dispatch
from helpline.models import (
    FollowUpOption,
    HistoryType,
    InboundMessage,
    InboundStatus,
    LinkType,
    Permission,
    PostmasterFilter,
    StateType,
    Ticket,
    TicketLink,
)
from tests.mail.messages import mail
from tests.support import make_agent, make_group, make_queue


@pytest.fixture
def org(db):
    group = make_group("info")
    info = make_queue("info-en", group=group, email="info-en@helpline.localhost")
    perms = make_queue(
        "permissions", group=group, email="permissions@helpline.localhost"
    )
    raw = make_queue("Raw", group=group)
    agent = make_agent("alice")
    admin.grant(group, [Permission.RW], agent=agent)
    return {"info": info, "permissions": perms, "raw": raw, "agent": agent}


def deliver(raw: bytes, **kwargs) -> InboundMessage:
    kwargs.setdefault("transport", "test")
    return receive_and_dispatch(raw, **kwargs)


def _article_message_id(ticket: Ticket) -> str:
    return ticket.articles.order_by("id").first().message_id


@pytest.mark.django_db
def test_new_mail_becomes_a_ticket_in_the_queue_of_its_address(org):
    msg = deliver(mail(to="permissions@helpline.localhost", subject="Photo licence"))
    assert msg.status == InboundStatus.PROCESSED
    ticket = msg.ticket
    assert ticket.queue == org["permissions"]
    assert ticket.title == "Photo licence"
    assert ticket.state_type == StateType.NEW
    assert ticket.customer.email == "jane@example.net"
    assert ticket.customer.name == "Jane Doe"
    article = ticket.articles.get()
    assert article.incoming and article.visible_to_customer
    assert article.sender_type == "customer"
    assert "error" in article.body_text
    assert article.raw.sha256 == msg.sha256
    assert msg.decisions["route"] == "recipient permissions@helpline.localhost"
    assert msg.decisions["follow_up"] == "none"
    assert msg.decisions["auto_response"] == "reply"


@pytest.mark.django_db
def test_mail_to_no_known_address_lands_in_the_default_queue(org):
    msg = deliver(mail(to="someone@elsewhere.example"))
    assert msg.ticket.queue == org["raw"]
    assert msg.decisions["route"] == "default queue Raw"


@pytest.mark.django_db
def test_the_transport_queue_wins_over_the_recipient(org):
    msg = deliver(mail(), queue=org["permissions"])
    assert msg.ticket.queue == org["permissions"]


@pytest.mark.django_db
def test_reply_to_is_the_customer_when_present(org):
    msg = deliver(
        mail(sender="form@wiki.example", reply_to="Real Person <real@example.net>")
    )
    assert msg.ticket.customer.email == "real@example.net"


@pytest.mark.django_db
def test_a_reply_threads_by_in_reply_to(org):
    first = deliver(mail()).ticket
    msg = deliver(
        mail(
            subject="Re: something else", in_reply_to=f"<{_article_message_id(first)}>"
        )
    )
    assert msg.ticket == first
    assert msg.decisions["follow_up"] == "references"
    assert first.articles.count() == 2


@pytest.mark.django_db
def test_references_are_tried_newest_first(org):
    a = deliver(mail()).ticket
    b = deliver(mail()).ticket
    refs = f"<{_article_message_id(a)}> <{_article_message_id(b)}>"
    msg = deliver(mail(subject="Re: x", references=refs))
    assert msg.ticket == b


@pytest.mark.django_db
def test_a_subject_number_from_a_participant_is_a_follow_up(org):
    first = deliver(mail()).ticket
    msg = deliver(mail(subject=f"Re: [Ticket#{first.number}] Question"))
    assert msg.ticket == first
    assert msg.decisions["follow_up"] == "subject"


@pytest.mark.django_db
def test_a_subject_number_from_a_stranger_opens_a_new_linked_ticket(org):
    first = deliver(mail()).ticket
    msg = deliver(
        mail(sender="intruder@evil.example", subject=f"[Ticket#{first.number}] hi")
    )
    assert msg.ticket != first
    assert msg.decisions["follow_up"] == "subject (sender not a participant)"
    assert msg.decisions["linked_to"] == first.number
    assert first.articles.count() == 1
    assert TicketLink.objects.filter(type=LinkType.NORMAL).count() == 1


@pytest.mark.django_db
def test_a_queue_may_trust_subject_numbers_from_anyone(org):
    org["info"].trust_subject_number = True
    org["info"].save()
    first = deliver(mail()).ticket
    msg = deliver(
        mail(sender="colleague@other.example", subject=f"Ticket#{first.number}")
    )
    assert msg.ticket == first


@pytest.mark.django_db
def test_mail_for_a_merged_ticket_lands_on_its_target(org):
    a, b = deliver(mail()).ticket, deliver(mail()).ticket
    merge.merge_tickets(org["agent"], a.pk, b.pk)
    msg = deliver(mail(subject=f"Re: [Ticket#{a.number}] Question"))
    assert msg.ticket == b


@pytest.mark.django_db
def test_a_follow_up_reopens_a_closed_ticket_when_the_queue_allows(org):
    ticket = deliver(mail()).ticket
    tickets.close_ticket(org["agent"], ticket.pk, note="answered")
    msg = deliver(mail(subject=f"Re: [Ticket#{ticket.number}] thanks, but"))
    ticket.refresh_from_db()
    assert msg.ticket == ticket
    assert ticket.state.name == "open"
    assert msg.decisions["auto_response"] == "follow_up"


@pytest.mark.django_db
def test_a_reopening_follow_up_locks_to_the_last_owner_with_follow_up_lock(org):
    org["info"].follow_up_lock = True
    org["info"].save()
    ticket = deliver(mail()).ticket
    tickets.close_ticket(org["agent"], ticket.pk, note="answered")
    deliver(mail(subject=f"Re: [Ticket#{ticket.number}] more"))
    ticket.refresh_from_db()
    assert ticket.locked and ticket.owner == org["agent"]


@pytest.mark.django_db
def test_a_follow_up_to_a_closed_ticket_in_a_reject_queue_is_stored_not_reopened(org):
    org["info"].follow_up = FollowUpOption.REJECT
    org["info"].save()
    ticket = deliver(mail()).ticket
    tickets.close_ticket(org["agent"], ticket.pk, note="answered")
    msg = deliver(mail(subject=f"Re: [Ticket#{ticket.number}] reopen please"))
    ticket.refresh_from_db()
    assert msg.ticket == ticket
    assert ticket.state_type == StateType.CLOSED
    assert ticket.articles.filter(body_text__contains="error").count() == 2
    assert msg.reason == "rejected_follow_up"
    assert msg.decisions["auto_response"] == "reject"


@pytest.mark.django_db
def test_a_follow_up_to_a_closed_ticket_in_a_new_ticket_queue_opens_a_linked_one(org):
    org["info"].follow_up = FollowUpOption.NEW_TICKET
    org["info"].save()
    ticket = deliver(mail()).ticket
    tickets.close_ticket(org["agent"], ticket.pk, note="answered")
    msg = deliver(mail(subject=f"Re: [Ticket#{ticket.number}] new question"))
    assert msg.ticket != ticket
    assert msg.ticket.title == "new question"
    assert msg.decisions["linked_to"] == ticket.number
    assert msg.decisions["auto_response"] == "reply_new_ticket"


@pytest.mark.django_db
def test_an_auto_reply_to_a_closed_ticket_is_kept_without_reopening(org):
    ticket = deliver(mail()).ticket
    tickets.close_ticket(org["agent"], ticket.pk, note="answered")
    msg = deliver(
        mail(
            subject=f"Out of office: [Ticket#{ticket.number}]",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    ticket.refresh_from_db()
    assert msg.ticket == ticket
    assert ticket.state_type == StateType.CLOSED
    assert msg.decisions["auto_response"] == "none"
    assert msg.decisions["automatic"]["loop"] is True


@pytest.mark.django_db
def test_the_same_bytes_twice_make_one_ticket(org):
    raw = mail()
    first = deliver(raw)
    second = deliver(raw)
    assert first.pk == second.pk
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_the_same_message_delivered_twice_with_other_headers_is_a_duplicate(org):
    raw = mail(message_id="<dup@example.net>")
    deliver(raw)
    again = deliver(b"Received: from relay2\n" + raw)
    assert again.status == InboundStatus.REJECTED
    assert "duplicate" in again.reason
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_a_filter_can_ignore_mail(org):
    PostmasterFilter.objects.create(
        name="no-reply",
        matches=[{"header": "From", "regex": "noreply@"}],
        sets={"ignore": True},
    )
    msg = deliver(mail(sender="noreply@spam.example"))
    assert msg.status == InboundStatus.REJECTED
    assert msg.reason == "ignored by filter no-reply"
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_a_filter_sets_queue_priority_and_title_with_the_capture(org):
    PostmasterFilter.objects.create(
        name="spam-to-permissions",
        matches=[
            {"header": "X-Spam-Flag", "regex": "YES"},
            {"header": "Subject", "regex": r"^(\w+)"},
        ],
        sets={"queue": "permissions", "priority": 1, "title": "Spam: [***]"},
    )
    msg = deliver(mail(subject="Winner announced", headers={"X-Spam-Flag": "YES"}))
    assert msg.ticket.queue == org["permissions"]
    assert msg.ticket.priority == 1
    assert msg.ticket.title == "Spam: Winner"
    assert msg.decisions["filters"] == ["filter spam-to-permissions"]


@pytest.mark.django_db
def test_negated_matches_and_stop(org):
    PostmasterFilter.objects.create(
        name="a",
        order=1,
        stop=True,
        matches=[{"header": "From", "regex": "@example.net", "negate": True}],
        sets={"priority": 5},
    )
    PostmasterFilter.objects.create(
        name="b",
        order=2,
        matches=[{"header": "From", "regex": "."}],
        sets={"priority": 2},
    )
    assert deliver(mail(sender="x@other.example")).ticket.priority == 5
    assert deliver(mail(sender="y@example.net")).ticket.priority == 2


@pytest.mark.django_db
def test_control_headers_are_ignored_unless_the_transport_is_trusted(org):
    raw = mail(headers={"X-Helpline-Queue": "permissions", "X-Helpline-Priority": "5"})
    untrusted = deliver(raw)
    assert untrusted.ticket.queue == org["info"]
    assert untrusted.ticket.priority == 3
    trusted = deliver(b"X-Trace: 2\n" + raw, trust_headers=True)
    assert (
        trusted.status == InboundStatus.REJECTED
    )  # same Message-ID and body: duplicate
    raw2 = mail(headers={"X-Helpline-Queue": "permissions", "X-Helpline-Priority": "5"})
    trusted = deliver(raw2, trust_headers=True)
    assert trusted.ticket.queue == org["permissions"]
    assert trusted.ticket.priority == 5


@pytest.mark.django_db
def test_a_failure_quarantines_the_message_and_replay_processes_it(org, monkeypatch):
    org["raw"].delete()
    msg = deliver(mail(to="nobody@elsewhere.example"))
    assert msg.status == InboundStatus.QUARANTINED
    assert "default queue 'Raw' does not exist" in msg.reason
    assert "Traceback" in msg.error
    assert not Ticket.objects.exists()  # nothing half-made
    make_queue("Raw", group=org["info"].group)
    msg = postmaster.replay(msg.pk)
    assert msg.status == InboundStatus.PROCESSED
    assert msg.ticket is not None
    assert msg.attempts == 2


@pytest.mark.django_db
def test_processing_a_processed_message_again_changes_nothing(org):
    msg = deliver(mail())
    again = postmaster.process_inbound(msg.pk)
    assert again.status == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 1
    assert msg.ticket.articles.count() == 1


@pytest.mark.django_db
def test_store_first_keeps_the_exact_bytes_before_any_parsing(org):
    raw = b"\x00\xff garbage that is not a message at all"
    msg, created = receive(raw, transport="test")
    assert created and msg.status == InboundStatus.RECEIVED
    from helpline.blobstore import read_blob

    assert read_blob(msg.raw) == raw


@pytest.mark.django_db
def test_a_new_ticket_takes_a_constant_number_of_queries(
    org, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(n_before: int) -> int:
        for _ in range(n_before):
            deliver(mail())
        raw = mail()
        stored, _ = receive(raw, transport="test")
        with CaptureQueriesContext(connection) as ctx:
            postmaster.process_inbound(stored.pk)
        return len(ctx.captured_queries)

    small = count(2)
    large = count(20)
    assert small == large
    assert small < 60


@pytest.mark.django_db
def test_history_records_the_follow_up(org):
    first = deliver(mail()).ticket
    deliver(mail(in_reply_to=f"<{_article_message_id(first)}>"))
    assert first.history.filter(type=HistoryType.FOLLOW_UP).count() == 1


@pytest.mark.django_db
def test_a_locked_ticket_still_receives_follow_ups(org):
    first = deliver(mail()).ticket
    locks.lock_ticket(org["agent"], first.pk)
    msg = deliver(mail(in_reply_to=f"<{_article_message_id(first)}>"))
    assert msg.ticket == first


@pytest.mark.django_db
def test_a_sender_address_that_is_no_address_leaves_the_ticket_without_customer(org):
    msg = deliver(mail(sender="Broken <not an address>"))
    assert msg.status == InboundStatus.PROCESSED
    assert msg.ticket.customer is None
