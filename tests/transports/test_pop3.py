"""Fetching from a real POP3 server (a private Dovecot): nothing is ever lost."""

from __future__ import annotations

import pytest

from helpline.blobstore import read_blob
from helpline.mail.intake import receive as real_receive
from helpline.mail.transports import accounts, pop3
from helpline.models import InboundMessage, InboundStatus, Ticket
from tests.transports import three_messages

pytestmark = pytest.mark.django_db


def test_fetching_stores_every_message_and_empties_the_mailbox(
    org, dovecot, mailbox, make_account
):
    raws = three_messages()
    dovecot.deliver(*mailbox, *raws)
    account = make_account("pop3")

    run = accounts.fetch_account(account)

    assert (run.stored, run.known, run.removed, run.errors) == (3, 0, 3, [])
    stored = InboundMessage.objects.order_by("id")
    assert [read_blob(m.raw) for m in stored] == raws
    assert {m.transport for m in stored} == {"pop3"}
    assert {m.status for m in stored} == {InboundStatus.PROCESSED}
    assert dovecot.messages(*mailbox) == []
    account.refresh_from_db()
    assert account.last_fetch is not None
    assert account.last_error == ""


def test_a_message_that_cannot_be_stored_stays_on_the_server_and_the_rest_are_fetched(
    org, dovecot, mailbox, make_account, monkeypatch
):
    raws = three_messages()
    broken = raws[0]
    dovecot.deliver(*mailbox, *raws)
    account = make_account("pop3")

    def receive_with_a_failing_disk(raw, **kwargs):
        if raw == broken:
            raise OSError(5, "Input/output error")
        return real_receive(raw, **kwargs)

    monkeypatch.setattr(accounts, "receive", receive_with_a_failing_disk)
    run = accounts.fetch_account(account)

    assert (run.stored, run.removed) == (2, 2)
    assert "Input/output error" in run.errors[0]
    assert [raw for raw, _ in dovecot.messages(*mailbox)] == [broken]

    monkeypatch.setattr(accounts, "receive", real_receive)
    run = accounts.fetch_account(account)

    assert (run.stored, run.removed, run.errors) == (1, 1, [])
    assert dovecot.messages(*mailbox) == []
    assert InboundMessage.objects.count() == 3


def test_a_crash_between_storing_and_deleting_loses_nothing_and_duplicates_nothing(
    org, dovecot, mailbox, make_account, monkeypatch
):
    raws = three_messages()
    dovecot.deliver(*mailbox, *raws)
    account = make_account("pop3")
    real_delete = pop3.delete_message
    calls = []

    def delete_crashing_at_the_second(session, number):
        calls.append(number)
        if len(calls) == 2:
            raise ConnectionResetError(104, "Connection reset by peer")
        return real_delete(session, number)

    monkeypatch.setattr(pop3, "delete_message", delete_crashing_at_the_second)
    run = accounts.fetch_account(account)

    # The first message was marked deleted, but without QUIT the server keeps it.
    assert run.stored == 2
    assert run.removed == 0
    assert "Connection reset by peer" in run.errors[0]
    assert len(dovecot.messages(*mailbox)) == 3
    assert Ticket.objects.count() == 2  # what was stored is processed

    run = accounts.fetch_account(account)

    assert (run.stored, run.known, run.removed, run.errors) == (1, 2, 3, [])
    assert dovecot.messages(*mailbox) == []
    assert InboundMessage.objects.count() == 3
    assert Ticket.objects.count() == 3


def test_a_connection_test_logs_in_and_counts_the_messages(
    org, dovecot, mailbox, make_account
):
    dovecot.deliver(*mailbox, *three_messages()[:2])
    result = accounts.test_account(make_account("pop3"))
    assert result == f"logged in to {dovecot.host}; the mailbox holds 2 message(s)"
    assert len(dovecot.messages(*mailbox)) == 2


def test_a_wrong_password_is_recorded_on_the_account(
    org, dovecot, mailbox, make_account
):
    dovecot.deliver(*mailbox, *three_messages()[:1])
    account = make_account("pop3", password="wrong")

    run = accounts.fetch_account(account)

    assert run.stored == 0
    account.refresh_from_db()
    assert "Authentication failed" in account.last_error
    assert len(dovecot.messages(*mailbox)) == 1
