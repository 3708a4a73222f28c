"""Fetching from a real IMAP server (a private Dovecot): nothing is ever lost.

The one stand-in allowed here is a ``receive`` that fails for one chosen message: it
plays a disk failing while that message is stored.
"""

from __future__ import annotations

import pytest

from helpline.blobstore import read_blob
from helpline.mail.intake import receive as real_receive
from helpline.mail.transports import accounts, imap
from helpline.models import InboundMessage, InboundStatus, Ticket
from tests.mail.messages import mail
from tests.transports import crlf, three_messages

pytestmark = pytest.mark.django_db


def test_fetching_stores_every_message_and_empties_the_mailbox(
    org, dovecot, mailbox, make_account
):
    raws = three_messages()
    dovecot.deliver(*mailbox, *raws)
    account = make_account("imap")

    run = accounts.fetch_account(account)

    assert (run.stored, run.known, run.removed, run.errors) == (3, 0, 3, [])
    stored = InboundMessage.objects.order_by("id")
    assert [read_blob(m.raw) for m in stored] == raws  # the exact bytes, in order
    assert {m.transport for m in stored} == {"imap"}
    assert {m.status for m in stored} == {InboundStatus.PROCESSED}
    assert Ticket.objects.filter(queue=org.info).count() == 3
    assert dovecot.messages(*mailbox) == []
    account.refresh_from_db()
    assert account.last_fetch is not None
    assert account.last_error == ""


def test_read_and_unread_messages_are_both_fetched(org, dovecot, mailbox, make_account):
    raws = three_messages()
    dovecot.deliver(*mailbox, *raws)
    with dovecot.client(*mailbox) as client:  # someone read two of them already
        client.select_folder("INBOX")
        client.add_flags(client.search("ALL")[:2], [b"\\Seen"])

    run = accounts.fetch_account(make_account("imap"))

    assert run.stored == 3
    assert dovecot.messages(*mailbox) == []


def test_with_move_to_the_fetched_messages_are_moved_there(
    org, dovecot, mailbox, make_account
):
    raws = three_messages()
    dovecot.deliver(*mailbox, *raws)
    account = make_account("imap", move_to="Helpline.Done")

    run = accounts.fetch_account(account)

    assert (run.stored, run.removed, run.errors) == (3, 3, [])
    assert dovecot.messages(*mailbox) == []
    assert [raw for raw, _ in dovecot.messages(*mailbox, "Helpline.Done")] == raws
    assert InboundMessage.objects.count() == 3


def test_a_message_that_cannot_be_stored_stays_on_the_server_and_the_rest_are_fetched(
    org, dovecot, mailbox, make_account, monkeypatch
):
    raws = three_messages()
    broken = raws[1]
    dovecot.deliver(*mailbox, *raws)
    account = make_account("imap")

    def receive_with_a_failing_disk(raw, **kwargs):
        if raw == broken:
            raise OSError(28, "No space left on device")
        return real_receive(raw, **kwargs)

    monkeypatch.setattr(accounts, "receive", receive_with_a_failing_disk)
    run = accounts.fetch_account(account)

    assert (run.stored, run.removed) == (2, 2)
    assert len(run.errors) == 1
    assert "No space left on device" in run.errors[0]
    left = dovecot.messages(*mailbox)
    assert [raw for raw, _ in left] == [broken]
    assert b"\\Seen" not in left[0][1]  # fetched with BODY.PEEK: still unread
    account.refresh_from_db()
    assert "not stored, left on the server" in account.last_error
    assert InboundMessage.objects.count() == 2

    monkeypatch.setattr(accounts, "receive", real_receive)  # the disk is back
    run = accounts.fetch_account(account)

    assert (run.stored, run.removed, run.errors) == (1, 1, [])
    assert dovecot.messages(*mailbox) == []
    account.refresh_from_db()
    assert account.last_error == ""
    assert sorted(read_blob(m.raw) for m in InboundMessage.objects.all()) == sorted(
        raws
    )


def test_a_crash_between_storing_and_deleting_loses_nothing_and_duplicates_nothing(
    org, dovecot, mailbox, make_account, monkeypatch
):
    raws = three_messages()
    dovecot.deliver(*mailbox, *raws)
    account = make_account("imap")
    real_remove = imap.remove_from_server
    crashes = []

    def remove_once_crashing(client, account, uids):
        if not crashes:
            crashes.append(uids)
            raise ConnectionResetError(104, "Connection reset by peer")
        return real_remove(client, account, uids)

    monkeypatch.setattr(imap, "remove_from_server", remove_once_crashing)
    run = accounts.fetch_account(account)

    assert (run.stored, run.removed) == (3, 0)
    assert "Connection reset by peer" in run.errors[0]
    assert len(dovecot.messages(*mailbox)) == 3  # still on the server
    # What was stored is processed all the same.
    assert Ticket.objects.count() == 3

    run = accounts.fetch_account(account)

    assert (run.stored, run.known, run.removed, run.errors) == (0, 3, 3, [])
    assert dovecot.messages(*mailbox) == []
    assert InboundMessage.objects.count() == 3
    assert Ticket.objects.count() == 3


def test_the_limit_caps_one_run_and_the_next_run_takes_the_rest(
    org, dovecot, mailbox, make_account
):
    raws = three_messages()
    dovecot.deliver(*mailbox, *raws)
    account = make_account("imap")

    assert accounts.fetch_account(account, limit=2).stored == 2
    assert [raw for raw, _ in dovecot.messages(*mailbox)] == [raws[2]]
    assert accounts.fetch_account(account, limit=2).stored == 1
    assert dovecot.messages(*mailbox) == []


def test_a_message_over_the_size_limit_is_left_on_the_server_and_reported(
    org, dovecot, mailbox, make_account, settings
):
    small = three_messages()[:2]
    big = crlf(mail(body="long " * 2000))
    dovecot.deliver(*mailbox, small[0], big, small[1])
    settings.HELPLINE_MAX_MESSAGE_BYTES = 5000
    account = make_account("imap")

    run = accounts.fetch_account(account)

    assert (run.stored, run.removed) == (2, 2)
    assert "over HELPLINE_MAX_MESSAGE_BYTES" in run.errors[0]
    assert [raw for raw, _ in dovecot.messages(*mailbox)] == [big]


def test_a_wrong_password_is_recorded_on_the_account_and_nothing_is_fetched(
    org, dovecot, mailbox, make_account
):
    dovecot.deliver(*mailbox, *three_messages())
    account = make_account("imap", password="wrong")

    run = accounts.fetch_account(account)

    assert run.stored == 0
    account.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in account.last_error
    assert len(dovecot.messages(*mailbox)) == 3


def test_a_connection_test_logs_in_and_counts_the_messages(
    org, dovecot, mailbox, make_account
):
    dovecot.deliver(*mailbox, *three_messages())
    result = accounts.test_account(make_account("imap"))
    assert result == f"logged in to {dovecot.host}; folder 'INBOX' holds 3 message(s)"
    # Only looked: everything is still there, unread.
    left = dovecot.messages(*mailbox)
    assert len(left) == 3
    assert not any(b"\\Seen" in flags for _, flags in left)


def test_a_connection_test_with_a_missing_folder_raises_the_servers_answer(
    org, dovecot, make_account
):
    account = make_account("imap", folder="Nonesuch")
    with pytest.raises(imap.IMAPClient.Error, match="Mailbox doesn't exist"):
        accounts.test_account(account)
